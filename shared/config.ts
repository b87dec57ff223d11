/**
 * Function configuration: OCI Functions passes application and function config as environment
 * variables (ctx.getConfig is broken in FDK 0.0.76, oci-facts.md E), parsed here once per cold
 * start into a frozen, typed object. Every DACFLOW_* variable must be known, so a misspelt key in
 * Terraform fails loudly instead of silently falling back to a default.
 */
import { z } from 'zod';
import { ConfigError } from '#shared/errors.ts';
import type { FunctionName } from '#shared/wiring.ts';
import { parseWorkflows, type Workflow, type WorkflowFile } from '#workflows/schema.ts';

const ocidLike = z.string().regex(/^ocid1\.[a-z0-9]+\.[a-z0-9-]+\./, 'must be an OCID');

/** Every configuration variable, with what it is for (the docs table is generated from this). */
export const configVariables = {
  DACFLOW_STATE_BUCKET: {
    schema: z.string().regex(/^[A-Za-z0-9._-]{1,256}$/, 'must be a bucket name'),
    doc: 'Bucket holding run state and reports (under dacflow/state/ and dacflow/reports/).',
  },
  DACFLOW_STATE_NAMESPACE: {
    schema: z.string().min(1).optional(),
    doc: 'Object Storage namespace of the state bucket; looked up with GetNamespace when unset.',
  },
  DACFLOW_PIPELINE_TOPIC_ID: {
    schema: ocidLike,
    doc: 'OCID of the Notifications topic that receives pipeline status messages.',
  },
  DACFLOW_VALIDATE_DATASET_TOPIC_ID: {
    schema: ocidLike,
    doc: 'OCID of the internal topic that re-drives validation (subscribed by validate-dataset).',
  },
  DACFLOW_START_FINETUNE_TOPIC_ID: {
    schema: ocidLike,
    doc: 'OCID of the internal topic whose messages start a fine-tune (subscribed by start-finetune).',
  },
  DACFLOW_DEPLOY_ENDPOINT_TOPIC_ID: {
    schema: ocidLike,
    doc: 'OCID of the internal topic whose messages deploy an endpoint (subscribed by deploy-endpoint).',
  },
  DACFLOW_COMPARTMENT_ID: {
    schema: ocidLike,
    doc: 'OCID of the compartment where dacflow creates models, endpoints and job runs.',
  },
  DACFLOW_WORKFLOWS: {
    schema: z.string().min(1, 'must hold at least one workflow'),
    doc: 'The workflow files, as one YAML stream (documents separated by `---` lines).',
  },
  DACFLOW_OCI_ENDPOINT: {
    schema: z.url().optional(),
    doc: 'One endpoint URL for every OCI service (the local emulator); unset on OCI.',
  },
  DACFLOW_LOG_LEVEL: {
    schema: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    doc: 'Least severe log level written: debug, info, warn or error.',
  },
} as const;

export type ConfigKey = keyof typeof configVariables;
export const configKeys = Object.keys(configVariables) as ConfigKey[];

/**
 * The variables each function reads; the Terraform checks hold each function's `config` block to
 * this list. Every function loads the workflows and the state store and may publish status.
 */
export const functionConfigKeys: Readonly<Record<FunctionName, readonly ConfigKey[]>> =
  Object.freeze({
    'validate-dataset': configKeys,
    'start-finetune': configKeys,
    'poll-status': configKeys,
    'deploy-endpoint': configKeys,
    'scale-dac': configKeys,
  });

const configSchema = z.object(
  Object.fromEntries(Object.entries(configVariables).map(([k, v]) => [k, v.schema])) as {
    [K in ConfigKey]: (typeof configVariables)[K]['schema'];
  },
);

export interface DacflowConfig {
  stateBucket: string;
  stateNamespace: string | undefined;
  pipelineTopicId: string;
  validateDatasetTopicId: string;
  startFinetuneTopicId: string;
  deployEndpointTopicId: string;
  compartmentId: string;
  /** The raw workflow YAML; `loadWorkflows` parses it. */
  workflowsYaml: string;
  ociEndpoint: string | undefined;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** Parses configuration from `env`; throws a ConfigError naming every bad or unknown variable. */
export function parseConfig(
  env: Readonly<Record<string, string | undefined>>,
): Readonly<DacflowConfig> {
  const issues: string[] = [];
  for (const key of Object.keys(env)) {
    if (key.startsWith('DACFLOW_') && !(key in configVariables)) {
      issues.push(`${key}: unknown variable (known: ${configKeys.join(', ')})`);
    }
  }
  const picked = Object.fromEntries(configKeys.map((k) => [k, env[k] === '' ? undefined : env[k]]));
  const parsed = configSchema.safeParse(picked);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const key = String(i.path[0] ?? '(config)');
      issues.push(`${key}: ${picked[key] === undefined ? 'is required' : i.message}`);
    }
  }
  if (issues.length > 0 || !parsed.success) {
    throw new ConfigError(`invalid function configuration: ${issues.join('; ')}`, {
      variables: issues.map((i) => i.slice(0, i.indexOf(':'))),
    });
  }
  const c = parsed.data;
  return Object.freeze({
    stateBucket: c.DACFLOW_STATE_BUCKET,
    stateNamespace: c.DACFLOW_STATE_NAMESPACE,
    pipelineTopicId: c.DACFLOW_PIPELINE_TOPIC_ID,
    validateDatasetTopicId: c.DACFLOW_VALIDATE_DATASET_TOPIC_ID,
    startFinetuneTopicId: c.DACFLOW_START_FINETUNE_TOPIC_ID,
    deployEndpointTopicId: c.DACFLOW_DEPLOY_ENDPOINT_TOPIC_ID,
    compartmentId: c.DACFLOW_COMPARTMENT_ID,
    workflowsYaml: c.DACFLOW_WORKFLOWS,
    ociEndpoint: c.DACFLOW_OCI_ENDPOINT,
    logLevel: c.DACFLOW_LOG_LEVEL,
  });
}

let cached: Readonly<DacflowConfig> | undefined;

/**
 * The process's configuration, parsed on first use and then reused for every call of this
 * container. Call it inside the handler, not at import, so a bad value becomes a CONFIG_INVALID
 * result instead of a process that cannot start.
 */
export function getConfig(): Readonly<DacflowConfig> {
  cached ??= parseConfig(process.env);
  return cached;
}

/** Splits a YAML stream into one file per document, named after their position. */
export function splitWorkflowDocuments(
  text: string,
  sourceName = 'DACFLOW_WORKFLOWS',
): WorkflowFile[] {
  return text
    .split(/^---[ \t]*$/m)
    .map((doc, i) => ({ fileName: `${sourceName}#${i}`, text: doc }))
    .filter((f) => f.text.trim() !== '' && !/^(\s*#.*\n?)*\s*$/.test(f.text));
}

/** Joins workflow files into the DACFLOW_WORKFLOWS value (the local stack and Terraform use it). */
export function joinWorkflowDocuments(texts: readonly string[]): string {
  return texts.map((t) => t.replace(/^---[ \t]*\n/, '').trimEnd()).join('\n---\n') + '\n';
}

const workflowCache = new WeakMap<object, readonly Workflow[]>();

/** Parses the configured workflows (once per config object); throws the schema's WorkflowError. */
export function loadWorkflows(config: Readonly<DacflowConfig>): readonly Workflow[] {
  let w = workflowCache.get(config);
  if (!w) {
    w = parseWorkflows(splitWorkflowDocuments(config.workflowsYaml));
    workflowCache.set(config, w);
  }
  return w;
}
