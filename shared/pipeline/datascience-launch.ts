/**
 * What an AQUA-style fine-tune and model deployment look like as data: the job's container,
 * infrastructure and logging, the run's `AIP_SMC_FT_ARGUMENTS` and `OCI__LAUNCH_CMD`, the
 * deployment's container and its environment, and the deterministic names and retry tokens that
 * make every create safe to repeat. Pure: plain data in, plain data out (no SDK, no clock); the
 * shapes are the SDK's model field names (oci-datascience/lib/model/*.d.ts) so the caller passes
 * them through unchanged.
 *
 * How AQUA itself does it: oracle/accelerated-data-science `ads/aqua/finetuning/finetuning.py`
 * (facts sheet H).
 */
import { createHash } from 'node:crypto';
import type { DatasetRef } from '#workflows/run-id.ts';
import type { DatascienceSection } from '#workflows/schema.ts';

/** The service containers a fine-tune and a deployment run in. */
export interface ContainerImages {
  /** AQUA's fine-tuning container (base model custom metadata `finetune-container`). */
  finetune: string;
  /** AQUA's vLLM serving container (`deployment-container` = `odsc-vllm-serving`). */
  vllm: string;
  /** AQUA's TGI serving container. */
  tgi: string;
}

/**
 * The AQUA service container families with the `dsmc://` scheme of service-managed containers.
 * AQUA resolves a family to a dated version from its container index, which dacflow cannot read:
 * these tags are NOT VERIFIED against a region; docs/datascience.md says how to pin one.
 */
export const defaultContainerImages: Readonly<ContainerImages> = Object.freeze({
  finetune: 'dsmc://odsc-llm-fine-tuning:latest',
  vllm: 'dsmc://odsc-vllm-serving:latest',
  tgi: 'dsmc://odsc-tgi-serving:latest',
});

/** AQUA's LoRA defaults (fine-tuning-tips.md): r=32, alpha=16, dropout=0.05. */
export const aquaLoraDefaults = Object.freeze({ lora_r: 32, lora_alpha: 16, lora_dropout: 0.05 });

/** The name AQUA's serving containers answer to in predict's `model` field (constant). */
export const servedModelName = 'odsc-llm';

/** The port AQUA's serving containers listen and answer health checks on. */
export const servingPort = 8080;

// ---------------------------------------------------------------------------------------------
// Names and tokens

/** Display name of a run's job run, output model and model deployment: the adoption key. */
export const runResourceName = (runId: string): string => `dacflow-${runId}`;

/** `oci://bucket@namespace/object`, the URI form AQUA's container reads and writes. */
export function ociUri(namespace: string, bucket: string, object = ''): string {
  return `oci://${bucket}@${namespace}/${object}`;
}

/** Where a run's fine-tuned weights go: one folder per run, so runs never overwrite each other. */
export function outputDirFor(
  namespace: string,
  outputBucket: string,
  workflow: string,
  runId: string,
): string {
  return ociUri(namespace, outputBucket, `${workflow}/${runId}/`);
}

/** The parts of a workflow that define its fine-tuning job (a change means a new job). */
export interface JobInputs {
  workflow: string;
  compartmentId: string;
  projectId: string;
  image: string;
  shape: string;
  replicas: number;
  blockStorageGb: number;
  subnetId?: string;
  logGroupId?: string;
}

/** First 16 hex characters of SHA-256 over the job's defining fields, in a fixed order. */
export function jobConfigHash(j: JobInputs): string {
  const fields = [
    j.workflow,
    j.compartmentId,
    j.projectId,
    j.image,
    j.shape,
    j.replicas,
    j.blockStorageGb,
    j.subnetId ?? null,
    j.logGroupId ?? null,
  ];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 16);
}

/** The job's display name: the workflow plus its configuration hash, so edits get a new job. */
export const jobDisplayName = (workflow: string, hash: string): string =>
  `dacflow-${workflow}-ft-${hash.slice(0, 8)}`;

/**
 * The job's create token: one per configuration, so concurrent first runs of a workflow create
 * one job (OCI answers a repeated token with the first request's resource, for 24 hours).
 */
export const jobRetryToken = (hash: string): string => `dacflow-job-${hash}`;

/** The output model's create token, derived from the run's train token (same attempt, same model). */
export const outputModelRetryToken = (trainToken: string): string => `${trainToken}-m`;

// ---------------------------------------------------------------------------------------------
// Job

/** `CreateJobDetails` minus ids the caller adds; SDK field names and discriminators. */
export interface JobSpec {
  displayName: string;
  description: string;
  jobConfigurationDetails: {
    jobType: 'DEFAULT';
    environmentVariables: Record<string, string>;
  };
  jobInfrastructureConfigurationDetails:
    | {
        jobInfrastructureType: 'STANDALONE';
        shapeName: string;
        subnetId: string;
        blockStorageSizeInGBs: number;
      }
    | { jobInfrastructureType: 'ME_STANDALONE'; shapeName: string; blockStorageSizeInGBs: number };
  jobEnvironmentConfigurationDetails: { jobEnvironmentType: 'OCIR_CONTAINER'; image: string };
  jobLogConfigurationDetails?: {
    enableLogging: true;
    enableAutoLogCreation: true;
    logGroupId: string;
  };
  freeformTags: Record<string, string>;
}

/**
 * The fine-tuning job. A subnet makes it STANDALONE (customer networking, as AQUA does with a
 * subnet); without one it uses managed egress (ME_STANDALONE). `replica` is AQUA's environment
 * variable for the node count.
 */
export function jobSpec(j: JobInputs): JobSpec {
  const hash = jobConfigHash(j);
  return {
    displayName: jobDisplayName(j.workflow, hash),
    description: `dacflow fine-tuning job of workflow ${j.workflow} (AQUA-style)`,
    jobConfigurationDetails: {
      jobType: 'DEFAULT',
      environmentVariables: { replica: String(j.replicas) },
    },
    jobInfrastructureConfigurationDetails: j.subnetId
      ? {
          jobInfrastructureType: 'STANDALONE',
          shapeName: j.shape,
          subnetId: j.subnetId,
          blockStorageSizeInGBs: j.blockStorageGb,
        }
      : {
          jobInfrastructureType: 'ME_STANDALONE',
          shapeName: j.shape,
          blockStorageSizeInGBs: j.blockStorageGb,
        },
    jobEnvironmentConfigurationDetails: { jobEnvironmentType: 'OCIR_CONTAINER', image: j.image },
    ...(j.logGroupId
      ? {
          jobLogConfigurationDetails: {
            enableLogging: true,
            enableAutoLogCreation: true,
            logGroupId: j.logGroupId,
          },
        }
      : {}),
    freeformTags: { dacflowWorkflow: j.workflow, dacflowJobConfig: hash },
  };
}

// ---------------------------------------------------------------------------------------------
// Job run

/** `AIP_SMC_FT_ARGUMENTS`: which catalog model to start from and which one to write to. */
export function ftArguments(baseModelId: string, outputModelId: string): string {
  return JSON.stringify({
    baseModel: { type: 'modelCatalog', modelId: baseModelId },
    outputModel: { type: 'modelCatalog', modelId: outputModelId },
  });
}

/**
 * One word for a POSIX-style command line (AQUA's container splits `OCI__LAUNCH_CMD` like a
 * shell): plain words as they are, anything else in single quotes, a `'` as `'"'"'`.
 */
export function shellWord(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'"'"'`)}'`;
}

/** A number as the container's argument parser reads it (no exponent for small rates). */
function num(x: number): string {
  if (Number.isInteger(x)) return String(x);
  const s = String(x);
  return /e/i.test(s) ? x.toFixed(20).replace(/0+$/, '') : s;
}

/**
 * `OCI__LAUNCH_CMD`: AQUA's flag names. Unset optional parameters are left to the container's own
 * defaults, except LoRA's, which AQUA always passes.
 */
export function launchCommand(input: {
  trainingData: string;
  outputDir: string;
  training: DatascienceSection['training'];
}): string {
  const t = input.training;
  const args: [string, string | number | undefined][] = [
    ['training_data', input.trainingData],
    ['output_dir', input.outputDir],
    ['val_set_size', t.validation_set_size],
    ['num_epochs', t.epochs],
    ['learning_rate', t.learning_rate],
    ['micro_batch_size', t.batch_size],
    ['sequence_len', t.sequence_len],
    ['lora_r', t.lora_r ?? aquaLoraDefaults.lora_r],
    ['lora_alpha', t.lora_alpha ?? aquaLoraDefaults.lora_alpha],
    ['lora_dropout', t.lora_dropout ?? aquaLoraDefaults.lora_dropout],
  ];
  return args
    .filter((a): a is [string, string | number] => a[1] !== undefined)
    .map(([k, v]) => `--${k} ${typeof v === 'number' ? num(v) : shellWord(v)}`)
    .join(' ');
}

/** `CreateJobRunDetails` minus the ids the caller adds. */
export interface JobRunSpec {
  displayName: string;
  jobConfigurationOverrideDetails: {
    jobType: 'DEFAULT';
    environmentVariables: Record<string, string>;
  };
  freeformTags: Record<string, string>;
}

/** The run of the job for one dataset version. */
export function jobRunSpec(input: {
  runId: string;
  workflow: string;
  dataset: DatasetRef;
  outputBucket: string;
  baseModelId: string;
  outputModelId: string;
  training: DatascienceSection['training'];
}): JobRunSpec {
  const { dataset } = input;
  return {
    displayName: runResourceName(input.runId),
    jobConfigurationOverrideDetails: {
      jobType: 'DEFAULT',
      environmentVariables: {
        AIP_SMC_FT_ARGUMENTS: ftArguments(input.baseModelId, input.outputModelId),
        OCI__LAUNCH_CMD: launchCommand({
          trainingData: ociUri(dataset.namespace, dataset.bucket, dataset.object),
          outputDir: outputDirFor(
            dataset.namespace,
            input.outputBucket,
            input.workflow,
            input.runId,
          ),
          training: input.training,
        }),
      },
    },
    freeformTags: {
      dacflowRunId: input.runId,
      dacflowWorkflow: input.workflow,
      dacflowOutputModelId: input.outputModelId,
    },
  };
}

/** The output model a job run writes to, read back from the run's `AIP_SMC_FT_ARGUMENTS`. */
export function outputModelOf(
  env: Readonly<Record<string, string>> | undefined,
): string | undefined {
  const raw = env?.AIP_SMC_FT_ARGUMENTS;
  if (!raw) return undefined;
  try {
    const id = (JSON.parse(raw) as { outputModel?: { modelId?: unknown } }).outputModel?.modelId;
    return typeof id === 'string' && id.length > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Model deployment

/** `CreateModelDeploymentDetails.modelDeploymentConfigurationDetails`, SDK names. */
export interface DeploymentConfigSpec {
  deploymentType: 'SINGLE_MODEL';
  modelConfigurationDetails: {
    modelId: string;
    instanceConfiguration: { instanceShapeName: string };
    scalingPolicy: { policyType: 'FIXED_SIZE'; instanceCount: number };
    bandwidthMbps: number;
  };
  environmentConfigurationDetails: {
    environmentConfigurationType: 'OCIR_CONTAINER';
    image: string;
    serverPort: number;
    healthCheckPort: number;
    environmentVariables: Record<string, string>;
  };
}

/**
 * The serving container's settings as AQUA sets them: the OpenAI-compatible completions route,
 * streaming on, and the constant served model name (model-deployment-tips.md).
 */
export function deploymentConfig(input: {
  modelId: string;
  deployment: DatascienceSection['deployment'];
  images: ContainerImages;
}): DeploymentConfigSpec {
  const d = input.deployment;
  const env: Record<string, string> = {
    MODEL_DEPLOY_PREDICT_ENDPOINT: '/v1/completions',
    MODEL_DEPLOY_ENABLE_STREAMING: 'true',
    PARAMS:
      d.container === 'vllm'
        ? `--served-model-name ${servedModelName} --seed 42`
        : `--served-model-name ${servedModelName}`,
  };
  return {
    deploymentType: 'SINGLE_MODEL',
    modelConfigurationDetails: {
      modelId: input.modelId,
      instanceConfiguration: { instanceShapeName: d.shape },
      scalingPolicy: { policyType: 'FIXED_SIZE', instanceCount: d.instanceCount },
      bandwidthMbps: d.bandwidthMbps,
    },
    environmentConfigurationDetails: {
      environmentConfigurationType: 'OCIR_CONTAINER',
      image: d.container === 'vllm' ? input.images.vllm : input.images.tgi,
      serverPort: servingPort,
      healthCheckPort: servingPort,
      environmentVariables: env,
    },
  };
}

/** `<modelDeploymentUrl>/predict`: where a signed request gets a completion. */
export const predictUrlOf = (modelDeploymentUrl: string): string =>
  `${modelDeploymentUrl.replace(/\/+$/, '')}/predict`;

/** A minimal predict body for the notification's sample call (no dataset text). */
export const samplePredictBody = (): string =>
  JSON.stringify({ model: servedModelName, prompt: 'Hello', max_tokens: 50 });
