/**
 * Request-body schemas of the emulated Data Science API. Field names and discriminators come from
 * oci-datascience/lib/model/*.d.ts; loose objects keep fields the emulator does not check.
 */
import { z } from 'zod';

export const tagsSchema = z.record(z.string(), z.string()).optional();
export const definedTagsSchema = z.record(z.string(), z.record(z.string(), z.unknown())).optional();
export const displayNameSchema = z.string().min(1).max(255).optional();
export const ocidSchema = z.string().min(1);

export const jobConfigurationSchema = z.discriminatedUnion('jobType', [
  z.looseObject({
    jobType: z.literal('DEFAULT'),
    environmentVariables: z.record(z.string(), z.string()).optional(),
    commandLineArguments: z.string().optional(),
    maximumRuntimeInMinutes: z.number().int().min(1).optional(),
  }),
  z.looseObject({ jobType: z.literal('EMPTY') }),
]);

export const jobInfrastructureSchema = z.discriminatedUnion('jobInfrastructureType', [
  z.looseObject({
    jobInfrastructureType: z.literal('STANDALONE'),
    shapeName: z.string().min(1),
    subnetId: z.string().min(1),
    blockStorageSizeInGBs: z.number().int().min(50),
    jobShapeConfigDetails: z.looseObject({}).optional(),
  }),
  z.looseObject({
    jobInfrastructureType: z.literal('ME_STANDALONE'),
    shapeName: z.string().min(1),
    blockStorageSizeInGBs: z.number().int().min(50),
    jobShapeConfigDetails: z.looseObject({}).optional(),
  }),
  z.looseObject({ jobInfrastructureType: z.literal('EMPTY') }),
]);

export const ocirJobEnvironmentSchema = z.looseObject({
  jobEnvironmentType: z.literal('OCIR_CONTAINER'),
  image: z.string().min(1),
  cmd: z.array(z.string()).optional(),
  entrypoint: z.array(z.string()).optional(),
  imageDigest: z.string().optional(),
  imageSignatureId: z.string().optional(),
});

export const logConfigurationSchema = z.looseObject({
  enableLogging: z.boolean().optional(),
  enableAutoLogCreation: z.boolean().optional(),
  logGroupId: z.string().optional(),
  logId: z.string().optional(),
});

export const createProjectSchema = z.object({
  displayName: displayNameSchema,
  description: z.string().max(400).optional(),
  compartmentId: ocidSchema,
  freeformTags: tagsSchema,
  definedTags: definedTagsSchema,
});

export const createJobSchema = z.object({
  projectId: ocidSchema,
  compartmentId: ocidSchema,
  displayName: displayNameSchema,
  description: z.string().optional(),
  jobConfigurationDetails: jobConfigurationSchema.optional(),
  jobInfrastructureConfigurationDetails: jobInfrastructureSchema.optional(),
  jobEnvironmentConfigurationDetails: ocirJobEnvironmentSchema.optional(),
  jobLogConfigurationDetails: logConfigurationSchema.optional(),
  freeformTags: tagsSchema,
  definedTags: definedTagsSchema,
});

export const createJobRunSchema = z.object({
  projectId: ocidSchema,
  compartmentId: ocidSchema,
  jobId: ocidSchema,
  displayName: displayNameSchema,
  jobConfigurationOverrideDetails: jobConfigurationSchema.optional(),
  jobEnvironmentConfigurationOverrideDetails: ocirJobEnvironmentSchema.optional(),
  jobInfrastructureConfigurationOverrideDetails: jobInfrastructureSchema.optional(),
  jobLogConfigurationOverrideDetails: logConfigurationSchema.optional(),
  freeformTags: tagsSchema,
  definedTags: definedTagsSchema,
});

export const metadataSchema = z.looseObject({
  key: z.string().min(1).optional(),
  value: z.string().optional(),
  description: z.string().optional(),
  category: z.string().optional(),
  keywords: z.array(z.string()).optional(),
  hasArtifact: z.boolean().optional(),
});

export const createModelSchema = z.object({
  compartmentId: ocidSchema,
  projectId: ocidSchema,
  displayName: displayNameSchema,
  description: z.string().optional(),
  freeformTags: tagsSchema,
  definedTags: definedTagsSchema,
  customMetadataList: z.array(metadataSchema).optional(),
  definedMetadataList: z.array(metadataSchema).optional(),
  inputSchema: z.string().optional(),
  outputSchema: z.string().optional(),
  modelVersionSetId: z.string().optional(),
  versionLabel: z.string().optional(),
  retentionSetting: z.looseObject({}).optional(),
  backupSetting: z.looseObject({}).optional(),
});

export const updateModelSchema = z.object({
  displayName: displayNameSchema,
  description: z.string().optional(),
  freeformTags: tagsSchema,
  definedTags: definedTagsSchema,
  customMetadataList: z.array(metadataSchema).optional(),
  definedMetadataList: z.array(metadataSchema).optional(),
  modelVersionSetId: z.string().optional(),
  versionLabel: z.string().optional(),
  retentionSetting: z.looseObject({}).optional(),
  backupSetting: z.looseObject({}).optional(),
});

export const provenanceSchema = z.object({
  repositoryUrl: z.string().optional(),
  gitBranch: z.string().optional(),
  gitCommit: z.string().optional(),
  scriptDir: z.string().optional(),
  trainingScript: z.string().optional(),
  trainingId: z.string().optional(),
});

export const createVersionSetSchema = z.object({
  compartmentId: ocidSchema,
  projectId: ocidSchema,
  name: z.string().min(1).max(255),
  description: z.string().optional(),
  freeformTags: tagsSchema,
  definedTags: definedTagsSchema,
});

export const scalingPolicySchema = z.discriminatedUnion('policyType', [
  z.looseObject({ policyType: z.literal('FIXED_SIZE'), instanceCount: z.number().int().min(1) }),
  z.looseObject({
    policyType: z.literal('AUTOSCALING'),
    coolDownInSeconds: z.number().int().min(0).optional(),
    isEnabled: z.boolean().optional(),
    autoScalingPolicies: z
      .array(
        z.looseObject({
          autoScalingPolicyType: z.string().optional(),
          initialInstanceCount: z.number().int().min(1).optional(),
          minimumInstanceCount: z.number().int().min(1).optional(),
          maximumInstanceCount: z.number().int().min(1).optional(),
        }),
      )
      .min(1),
  }),
]);

export const instanceConfigurationSchema = z.looseObject({
  instanceShapeName: z.string().min(1),
  modelDeploymentInstanceShapeConfigDetails: z.looseObject({}).optional(),
  subnetId: z.string().optional(),
  privateEndpointId: z.string().optional(),
  networkAccessType: z.string().optional(),
});

export const environmentSchema = z.discriminatedUnion('environmentConfigurationType', [
  z.looseObject({
    environmentConfigurationType: z.literal('OCIR_CONTAINER'),
    image: z.string().min(1).optional(),
    imageDigest: z.string().optional(),
    cmd: z.array(z.string()).optional(),
    entrypoint: z.array(z.string()).optional(),
    serverPort: z.number().int().min(1024).max(65535).optional(),
    healthCheckPort: z.number().int().min(1024).max(65535).optional(),
    environmentVariables: z.record(z.string(), z.string()).optional(),
  }),
  z.looseObject({
    environmentConfigurationType: z.literal('DEFAULT'),
    environmentVariables: z.record(z.string(), z.string()).optional(),
  }),
]);

export const modelConfigurationSchema = z.looseObject({
  modelId: ocidSchema,
  instanceConfiguration: instanceConfigurationSchema,
  scalingPolicy: scalingPolicySchema.optional(),
  bandwidthMbps: z.number().int().min(1).optional(),
  maximumBandwidthMbps: z.number().int().min(1).optional(),
});

export const createDeploymentSchema = z.object({
  displayName: displayNameSchema,
  description: z.string().optional(),
  projectId: ocidSchema,
  compartmentId: ocidSchema,
  modelDeploymentConfigurationDetails: z.looseObject({
    deploymentType: z.string(),
    modelConfigurationDetails: modelConfigurationSchema.optional(),
    environmentConfigurationDetails: environmentSchema.optional(),
  }),
  categoryLogDetails: z.looseObject({}).optional(),
  freeformTags: tagsSchema,
  definedTags: definedTagsSchema,
});

export const updateDeploymentSchema = z.object({
  displayName: displayNameSchema,
  description: z.string().optional(),
  modelDeploymentConfigurationDetails: z
    .looseObject({
      deploymentType: z.string(),
      modelConfigurationDetails: z
        .looseObject({
          modelId: ocidSchema,
          instanceConfiguration: instanceConfigurationSchema.optional(),
          scalingPolicy: scalingPolicySchema.optional(),
          bandwidthMbps: z.number().int().min(1).optional(),
          maximumBandwidthMbps: z.number().int().min(1).optional(),
        })
        .optional(),
      environmentConfigurationDetails: environmentSchema.optional(),
    })
    .optional(),
  categoryLogDetails: z.looseObject({}).optional(),
  freeformTags: tagsSchema,
  definedTags: definedTagsSchema,
});
