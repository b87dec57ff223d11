/**
 * The workflow file schema: what a user writes in `workflows/<name>.yaml` to say "datasets landing
 * here get validated, fine-tuned on this backend, served and scaled like this". Pure: text in, frozen
 * typed object out. Reading files is the caller's job (CLI, functions at cold start).
 *
 * Every object is strict (unknown keys are errors) so a misspelt optional field, which would
 * otherwise silently fall back to a default, fails loudly with its path.
 */
import { z } from 'zod';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { defaultDeploymentUtilizationMetric } from '#shared/scaling/alarm-definitions.ts';
import { defaultScalingPolicy } from '#shared/scaling/policy.ts';
import { datasetSuffix, reservedPrefixes } from '#shared/wiring.ts';
import { WorkflowError, type WorkflowIssue } from './errors.ts';
import { notifyEvents } from './machine.ts';

// ---------------------------------------------------------------------------------------------
// Small building blocks

const posInt = () => z.number().int().min(1);
const nonNegInt = () => z.number().int().min(0);

/** Lower-case slug: it becomes part of OCI display names and Events rule names. */
export const workflowNamePattern = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;

/** OCI bucket names: letters, digits, `-`, `_`, `.`, 1-256 characters. */
const bucketName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,256}$/, 'must be an OCI bucket name (letters, digits, "-", "_", ".")');

/** `ocid1.<type>.<realm>.[region][.future].<unique>`; we only check the shape, not the realm. */
const ocidPattern = /^ocid1\.[a-z0-9]+\.[a-z0-9-]+\.[a-z0-9-]*(\.[A-Za-z0-9_-]+)+$/;
const ocid = (what: string) => z.string().regex(ocidPattern, `must be the OCID of ${what}`);

/** True when `value` looks like an OCID rather than a display name to resolve. */
export function isOcid(value: string): boolean {
  return ocidPattern.test(value);
}

/** An OCID, or a display name that the deployer resolves with a list call. */
const idOrName = z.string().trim().min(1).max(255);

// ---------------------------------------------------------------------------------------------
// Enumerations

export const Backend = { GENAI: 'genai', DATASCIENCE: 'datascience' } as const;
export type Backend = (typeof Backend)[keyof typeof Backend];

export const DatasetFormat = { GENAI: 'genai', AQUA: 'aqua' } as const;
export type DatasetFormat = (typeof DatasetFormat)[keyof typeof DatasetFormat];

/** `trainingConfigType` values of the SDK's TrainingConfig subtypes (oci-generativeai/lib/model). */
export const TrainingConfigType = {
  TFEW: 'TFEW_TRAINING_CONFIG',
  LORA: 'LORA_TRAINING_CONFIG',
  VANILLA: 'VANILLA_TRAINING_CONFIG',
} as const;
export type TrainingConfigType = (typeof TrainingConfigType)[keyof typeof TrainingConfigType];

// ---------------------------------------------------------------------------------------------
// Sections

/** GenAI requires at least 32 examples per file (training-data-requirements.htm). */
export const GENAI_MIN_EXAMPLES = 32;

const datasetSchema = z
  .object({
    /** Defaults from the backend: `genai` for genai, `aqua` for datascience. */
    format: z.enum([DatasetFormat.GENAI, DatasetFormat.AQUA]).optional(),
    minExamples: posInt().default(GENAI_MIN_EXAMPLES),
    /**
     * Lines longer than this are findings, not memory blow-ups. GenAI documents no file or line
     * limit (oci-facts A: NOT FOUND); 1 MiB holds far more than a 128k-token context.
     */
    maxLineBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    /** Optional token budgets per example; no training-time limit is documented (oci-facts A). */
    tokenLimits: z
      .object({ maxPromptTokens: posInt(), maxCompletionTokens: posInt() })
      .strict()
      .optional(),
    /** AQUA Llama-2-style models expect `<s>[INST]<<SYS>>...` prompts (product notes). */
    chatTemplate: z.literal('llama2').optional(),
  })
  .strict();

/** Fields every SDK TrainingConfig subtype shares; the SDK states no ranges, the docs some. */
const trainingBase = {
  /** Docs: >= 1, default 3. */
  totalTrainingEpochs: posInt().optional(),
  /** Docs: 0-1.0 (LoRA default 0.0002, T-Few 0.01). */
  learningRate: z.number().gt(0).max(1).optional(),
  /** Docs: 8-16 for the Llama models, 8 for cohere.command; the service checks per model. */
  trainingBatchSize: posInt().optional(),
  /** Docs: 0 disables, default 15. */
  earlyStoppingPatience: nonNegInt().optional(),
  /** Docs: >= 0, default 0.0001. */
  earlyStoppingThreshold: z.number().min(0).optional(),
  /** SDK: 0 disables metric logging; docs: default 10. */
  logModelMetricsIntervalInSteps: nonNegInt().optional(),
};

const trainingConfigSchema = z.discriminatedUnion('trainingConfigType', [
  z.object({ trainingConfigType: z.literal(TrainingConfigType.TFEW), ...trainingBase }).strict(),
  z
    .object({
      trainingConfigType: z.literal(TrainingConfigType.LORA),
      ...trainingBase,
      /** Docs (ja-jp table): integer 1-64, default 8. */
      loraR: z.number().int().min(1).max(64).optional(),
      /** Range NOT FOUND in the docs: only positivity is checked. */
      loraAlpha: z.number().gt(0).optional(),
      /** A dropout probability; range NOT FOUND in the docs, [0, 1) by definition. */
      loraDropout: z.number().min(0).lt(1).optional(),
    })
    .strict(),
  z
    .object({
      trainingConfigType: z.literal(TrainingConfigType.VANILLA),
      ...trainingBase,
      numOfLastLayers: posInt().optional(),
    })
    .strict(),
]);

const genaiSchema = z
  .object({
    /** Compartment for models and endpoints; defaults to the deployment's compartment. */
    compartmentId: ocid('a compartment').optional(),
    /** Base model OCID or display name, e.g. `meta.llama-3.3-70b-instruct` (resolved by listModels). */
    baseModel: idOrName,
    trainingConfig: trainingConfigSchema,
    /** A FINE_TUNING dedicated AI cluster: OCID or display name. */
    fineTuningCluster: idOrName,
    /** HOSTING clusters to place endpoints on, tried in order: OCIDs or display names. */
    hostingClusters: z.array(idOrName).min(1),
    endpoint: z
      .object({
        contentModeration: z
          .object({
            isEnabled: z.boolean(),
            mode: z.enum(['INFORM', 'BLOCK']).optional(),
          })
          .strict(),
        /** Delete the previous run's endpoint once a newer one is ACTIVE. */
        retireSuperseded: z.boolean().default(true),
      })
      .strict(),
  })
  .strict();

/**
 * A container image as Data Science takes it: a service-managed `dsmc://` family (AQUA's own) or
 * an OCIR path (`<region>.ocir.io/<namespace>/<repo>:<tag>` or `@sha256:<digest>`).
 */
const containerImage = z
  .string()
  .max(512)
  .regex(
    /^(dsmc:\/\/[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+)?|[a-z0-9][a-z0-9.-]*\.ocir\.io\/[A-Za-z0-9._\/-]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64}))$/,
    'must be dsmc://<family>:<tag> or <region>.ocir.io/<namespace>/<repo>:<tag>',
  );

const datascienceSchema = z
  .object({
    compartmentId: ocid('a compartment').optional(),
    projectId: ocid('a Data Science project'),
    /** Base model in the Model Catalog: OCID or display name. */
    baseModel: idOrName,
    /** Job shape, e.g. `VM.GPU.A10.2` (AQUA fine-tunes on 2-4 A10 GPUs). */
    shape: z
      .string()
      .regex(/^(VM|BM)\.[A-Za-z0-9.]+$/, 'must be a compute shape like VM.GPU.A10.2'),
    /** Multi-node training; more than 1 needs `subnetId` and `logGroupId` (AQUA). */
    replicas: posInt().max(32).default(1),
    subnetId: ocid('a subnet').optional(),
    logGroupId: ocid('a log group').optional(),
    /** AQUA's default is 256 GB. */
    blockStorageGb: z.number().int().min(50).max(10240).default(256),
    /** AQUA's own parameter names (ads/aqua/finetuning), passed through unchanged. */
    training: z
      .object({
        epochs: posInt(),
        learning_rate: z.number().gt(0).max(1).optional(),
        batch_size: posInt().optional(),
        sequence_len: posInt().optional(),
        /** AQUA default 32. */
        lora_r: posInt().max(1024).optional(),
        /** AQUA default 16. */
        lora_alpha: z.number().gt(0).optional(),
        /** AQUA default 0.05. */
        lora_dropout: z.number().min(0).lt(1).optional(),
        /** AQUA requires [0, 1). */
        validation_set_size: z.number().min(0).lt(1).optional(),
      })
      .strict(),
    /** AQUA's fine-tuning container; default `dsmc://odsc-llm-fine-tuning:latest` (unverified). */
    trainingImage: containerImage.optional(),
    /** Where AQUA writes the fine-tuned model; the bucket must have object versioning enabled. */
    outputBucket: bucketName,
    deployment: z
      .object({
        shape: z
          .string()
          .regex(/^(VM|BM)\.[A-Za-z0-9.]+$/, 'must be a compute shape like VM.GPU.A10.1'),
        instanceCount: posInt().default(1),
        container: z.enum(['vllm', 'tgi']).default('vllm'),
        /** The serving image; default AQUA's `dsmc://odsc-<container>-serving:latest` (unverified). */
        image: containerImage.optional(),
        bandwidthMbps: posInt().default(10),
      })
      .strict(),
  })
  .strict();

/**
 * The autoscaling section. Every default is the scaling policy's own (`defaultScalingPolicy` in
 * shared/scaling/policy.ts, where each carries its reasoning and the simulator's measurements), so
 * the workflow, the scale-dac function and the Terraform alarms cannot drift apart.
 */
const d = defaultScalingPolicy;
const autoscalingSchema = z
  .object({
    /** Required: the bounds are a cost decision each workflow makes. */
    minUnits: posInt(),
    maxUnits: posInt(),
    maxStepUnits: posInt().default(d.maxStepUnits),
    latencyP99ThresholdMs: posInt().default(d.latencyP99ThresholdMs),
    lowUtilizationPct: z.number().gt(0).lt(100).default(d.lowUtilizationPct),
    sustainedLowUtilizationPct: z.number().gt(0).lt(100).default(d.sustainedLowUtilizationPct),
    /** OCI caps an alarm's pending duration at one hour, which bounds this window. */
    sustainedLowWindowMin: posInt().max(60).default(d.sustainedLowWindowMin),
    targetUtilizationPct: z.number().gt(0).max(100).default(d.targetUtilizationPct),
    highUtilizationPct: z.number().gt(0).max(100).default(d.highUtilizationPct),
    hysteresisPct: z.number().min(0).lt(50).default(d.hysteresisPct),
    scaleUpCooldownSec: nonNegInt().default(d.scaleUpCooldownSec),
    scaleDownCooldownSec: nonNegInt().default(d.scaleDownCooldownSec),
    maxActionsPerHour: posInt().max(60).default(d.maxActionsPerHour),
    maxMonthlyCostUsd: z.number().gt(0).optional(),
    unitCostUsdPerMonth: z.number().gt(0).default(d.unitCostUsdPerMonth),
    tokensPerSecondPerUnit: z.number().gt(0).default(d.tokensPerSecondPerUnit),
    inFlightTimeoutSec: posInt().default(d.inFlightTimeoutSec),
    alarmRepeatMin: posInt().max(1440).default(d.alarmRepeatMin),
    /**
     * Where utilization comes from: a metric name, or (hosting clusters only) derived from token
     * throughput / (units x tokensPerSecondPerUnit). The default depends on the backend (see
     * `defaultUtilization`): OCI documents no utilization metric for dedicated AI clusters, but
     * does for model deployments.
     */
    utilization: z
      .discriminatedUnion('source', [
        z
          .object({
            source: z.literal('metric'),
            metric: z
              .string()
              .regex(/^[A-Za-z][A-Za-z0-9._-]{0,254}$/, 'must be a Monitoring metric name'),
          })
          .strict(),
        z.object({ source: z.literal('derived') }).strict(),
      ])
      .optional(),
  })
  .strict();

const notificationsSchema = z
  .object({
    /** ONS topic; without it notifications are only logged. */
    topicId: ocid('a Notifications topic').optional(),
    /** Which run events to notify; all of them when omitted. */
    events: z.array(z.enum(notifyEvents)).min(1).optional(),
  })
  .strict();

/** Events rules match `<prefix>*.jsonl`; `*` inside the prefix would widen that match. */
const prefixSchema = z
  .string()
  .min(1)
  .max(512)
  .refine((p) => p.endsWith('/'), 'must end with "/"')
  .refine((p) => !p.startsWith('/'), 'must not start with "/" (object names have no leading /)')
  .refine((p) => !/[*?\s]/.test(p), 'must not contain "*", "?" or whitespace')
  .refine(
    (p) => !Object.values(reservedPrefixes).some((r) => p.startsWith(r) || r.startsWith(p)),
    `must not overlap dacflow's own prefixes (${Object.values(reservedPrefixes).join(', ')})`,
  );

const workflowObject = z
  .object({
    name: z
      .string()
      .regex(
        workflowNamePattern,
        'must be a slug: 2-40 characters, lower-case letters, digits and "-", starting with a letter',
      ),
    description: z.string().max(400).optional(),
    backend: z.enum([Backend.GENAI, Backend.DATASCIENCE]),
    trigger: z.object({ bucket: bucketName, prefix: prefixSchema }).strict(),
    dataset: datasetSchema.prefault({}),
    genai: genaiSchema.optional(),
    datascience: datascienceSchema.optional(),
    autoscaling: autoscalingSchema.optional(),
    notifications: notificationsSchema.prefault({}),
    /** How often the reconciler looks at this workflow's runs; the schedule fires every minute. */
    pollIntervalSec: z.number().int().min(60).max(3600).default(60),
  })
  .strict();

type WorkflowInput = z.output<typeof workflowObject>;

function crossFieldChecks(w: WorkflowInput, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message });

  if (w.backend === Backend.GENAI) {
    if (!w.genai) issue(['genai'], 'required when backend is genai');
    if (w.datascience) issue(['datascience'], 'not allowed when backend is genai');
    if (w.dataset.format === DatasetFormat.AQUA) {
      issue(
        ['dataset', 'format'],
        'genai backend needs the genai format (exactly prompt and completion)',
      );
    }
  } else {
    if (!w.datascience) issue(['datascience'], 'required when backend is datascience');
    if (w.genai) issue(['genai'], 'not allowed when backend is datascience');
  }
  const format = w.dataset.format ?? (w.backend === Backend.GENAI ? 'genai' : 'aqua');
  if (format === DatasetFormat.GENAI && w.dataset.minExamples < GENAI_MIN_EXAMPLES) {
    issue(
      ['dataset', 'minExamples'],
      `must be at least ${GENAI_MIN_EXAMPLES} for the genai format`,
    );
  }
  if (w.dataset.chatTemplate !== undefined && format !== DatasetFormat.AQUA) {
    issue(['dataset', 'chatTemplate'], 'only applies to the aqua format');
  }

  const mod = w.genai?.endpoint.contentModeration;
  if (mod && !mod.isEnabled && mod.mode !== undefined) {
    issue(['genai', 'endpoint', 'contentModeration', 'mode'], 'set only when isEnabled is true');
  }
  if (w.genai) {
    const seen = new Set<string>();
    w.genai.hostingClusters.forEach((c, i) => {
      if (seen.has(c)) issue(['genai', 'hostingClusters', i], `"${c}" is listed twice`);
      seen.add(c);
    });
  }
  const ds = w.datascience;
  if (ds && ds.replicas > 1) {
    if (!ds.subnetId) issue(['datascience', 'subnetId'], 'required when replicas > 1 (AQUA)');
    if (!ds.logGroupId) issue(['datascience', 'logGroupId'], 'required when replicas > 1 (AQUA)');
  }

  const a = w.autoscaling;
  if (a) {
    if (a.minUnits > a.maxUnits) issue(['autoscaling', 'minUnits'], 'must be <= maxUnits');
    // Scale-down bands sit below the target, or a run scaled to target would at once look "low".
    if (a.lowUtilizationPct >= a.sustainedLowUtilizationPct) {
      issue(['autoscaling', 'lowUtilizationPct'], 'must be below sustainedLowUtilizationPct');
    }
    if (a.sustainedLowUtilizationPct >= a.targetUtilizationPct) {
      issue(['autoscaling', 'sustainedLowUtilizationPct'], 'must be below targetUtilizationPct');
    }
    if (a.targetUtilizationPct >= a.highUtilizationPct) {
      issue(['autoscaling', 'targetUtilizationPct'], 'must be below highUtilizationPct');
    }
    if (
      a.maxMonthlyCostUsd !== undefined &&
      a.maxMonthlyCostUsd < a.minUnits * a.unitCostUsdPerMonth
    ) {
      issue(
        ['autoscaling', 'maxMonthlyCostUsd'],
        `must cover minUnits x unitCostUsdPerMonth (${a.minUnits * a.unitCostUsdPerMonth})`,
      );
    }
    if (ds && a.utilization?.source === 'derived') {
      issue(
        ['autoscaling', 'utilization', 'source'],
        `derived utilization comes from GenAI token metrics; a model deployment uses one of its own metrics (default ${defaultDeploymentUtilizationMetric})`,
      );
    }
    if (ds) {
      const n = ds.deployment.instanceCount;
      if (n < a.minUnits || n > a.maxUnits) {
        issue(
          ['datascience', 'deployment', 'instanceCount'],
          'must be within autoscaling minUnits..maxUnits',
        );
      }
    }
  }
}

/**
 * Where a workflow's utilization comes from when its autoscaling section does not say: derived from
 * token metrics for hosting clusters (OCI documents no utilization metric for them: oci-facts C),
 * the deployment's own GPU metric for model deployments (metrics-model-deploy.htm).
 */
export function defaultUtilization(
  backend: Backend,
): { source: 'derived' } | { source: 'metric'; metric: string } {
  return backend === Backend.DATASCIENCE
    ? { source: 'metric', metric: defaultDeploymentUtilizationMetric }
    : { source: 'derived' };
}

/** The schema of one workflow document, defaults applied. */
export const workflowSchema = workflowObject.superRefine(crossFieldChecks).transform((w) => ({
  ...w,
  autoscaling: w.autoscaling && {
    ...w.autoscaling,
    utilization: w.autoscaling.utilization ?? defaultUtilization(w.backend),
  },
  dataset: {
    ...w.dataset,
    format:
      w.dataset.format ?? (w.backend === Backend.GENAI ? DatasetFormat.GENAI : DatasetFormat.AQUA),
  },
}));

/** A parsed, defaulted workflow. Frozen deep: configuration is read, never edited. */
export type Workflow = DeepReadonly<z.output<typeof workflowSchema>>;
export type GenaiSection = NonNullable<Workflow['genai']>;
export type DatascienceSection = NonNullable<Workflow['datascience']>;
export type TrainingConfig = GenaiSection['trainingConfig'];
export type AutoscalingSection = NonNullable<Workflow['autoscaling']>;
export type DatasetSection = Workflow['dataset'];
export type NotificationsSection = Workflow['notifications'];

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Parsing with positions

type PathSeg = string | number;

/** Finds the YAML node a zod path points to (the key node when `asKey`), or its nearest parent. */
function locate(contents: unknown, path: readonly PathSeg[], asKey: boolean): YamlNode | undefined {
  let node = contents as YamlNode | null | undefined;
  let found: YamlNode | undefined = node ?? undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return found;
      if (last && asKey && isScalar(pair.key)) return pair.key;
      node = pair.value as YamlNode | null;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg] as YamlNode | null;
    } else {
      return found;
    }
    if (node) found = node;
  }
  return found;
}

function positionOf(
  node: YamlNode | undefined,
  lc: LineCounter,
): { line?: number; column?: number } {
  const offset = node?.range?.[0];
  if (offset === undefined) return {};
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}

function describeIssue(
  issue: z.core.$ZodIssue,
): { path: PathSeg[]; message: string; asKey: boolean }[] {
  const path = issue.path.filter((p): p is PathSeg => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => ({ path: [...path, k], message: 'unknown key', asKey: true }));
  }
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    return [{ path, message: `required (expected ${issue.expected})`, asKey: true }];
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator) {
    const options = (issue as { options?: unknown[] }).options ?? [];
    return [
      { path, message: `must be one of ${options.map((o) => String(o)).join(', ')}`, asKey: false },
    ];
  }
  return [{ path, message: issue.message, asKey: false }];
}

/**
 * Parses one workflow file. Throws `WorkflowError` naming the file and every failing field path
 * (with line and column where the YAML pins it), or the YAML syntax error's position.
 */
export function parseWorkflow(text: string, fileName: string): Workflow {
  const result = checkWorkflow(text, fileName);
  if (!result.ok) throw new WorkflowError(result.issues);
  return result.workflow;
}

export type CheckResult =
  | { ok: true; file: string; workflow: Workflow }
  | { ok: false; file: string; issues: WorkflowIssue[] };

/** Like `parseWorkflow`, but returns the issues instead of throwing (for the CLI's report). */
export function checkWorkflow(text: string, fileName: string): CheckResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e): WorkflowIssue => {
      const { line, col } = lc.linePos(e.pos[0]);
      return {
        file: fileName,
        path: '',
        message: `YAML ${e.code}: ${e.message.split('\n')[0]}`,
        line,
        column: col,
      };
    });
    return { ok: false, file: fileName, issues };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 50 });
  if (data === null || data === undefined || typeof data !== 'object' || Array.isArray(data)) {
    return {
      ok: false,
      file: fileName,
      issues: [
        { file: fileName, path: '', message: 'must be a YAML mapping (one workflow per file)' },
      ],
    };
  }
  const parsed = workflowSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.flatMap((zi) =>
      describeIssue(zi).map(({ path, message, asKey }): WorkflowIssue => ({
        file: fileName,
        path: path.join('.'),
        message,
        ...positionOf(locate(doc.contents, path, asKey), lc),
      })),
    );
    return { ok: false, file: fileName, issues };
  }
  return { ok: true, file: fileName, workflow: deepFreeze(parsed.data) as Workflow };
}

export interface WorkflowFile {
  fileName: string;
  text: string;
}

/** True when some object name can match both triggers (same bucket, one prefix inside the other). */
export function triggersOverlap(
  a: { bucket: string; prefix: string },
  b: { bucket: string; prefix: string },
): boolean {
  return a.bucket === b.bucket && (a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix));
}

/**
 * Checks a set of files, each alone and all together: two workflows may not share a name or watch
 * overlapping bucket+prefix (one dataset would start two runs). Returns per-file results plus the
 * set-level issues, never throws.
 */
export function checkWorkflows(files: readonly WorkflowFile[]): {
  results: CheckResult[];
  setIssues: WorkflowIssue[];
} {
  const results = files.map((f) => checkWorkflow(f.text, f.fileName));
  const ok = results.filter((r): r is Extract<CheckResult, { ok: true }> => r.ok);
  const setIssues: WorkflowIssue[] = [];
  for (let i = 0; i < ok.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = ok[i]!;
      const b = ok[j]!;
      if (a.workflow.name === b.workflow.name) {
        setIssues.push({
          file: a.file,
          path: 'name',
          message: `"${a.workflow.name}" is also the name in ${b.file}`,
        });
      }
      if (triggersOverlap(a.workflow.trigger, b.workflow.trigger)) {
        setIssues.push({
          file: a.file,
          path: 'trigger',
          message: `overlaps ${b.file} (bucket ${a.workflow.trigger.bucket}, prefixes "${a.workflow.trigger.prefix}" and "${b.workflow.trigger.prefix}"): one ${datasetSuffix} object would start two runs`,
        });
      }
    }
  }
  return { results, setIssues };
}

/** Parses every file and checks them together; throws one `WorkflowError` listing all issues. */
export function parseWorkflows(files: readonly WorkflowFile[]): readonly Workflow[] {
  const { results, setIssues } = checkWorkflows(files);
  const issues = [...results.flatMap((r) => (r.ok ? [] : r.issues)), ...setIssues];
  if (issues.length > 0) throw new WorkflowError(issues);
  return Object.freeze(results.map((r) => (r as Extract<CheckResult, { ok: true }>).workflow));
}

/** The parts of zod's internal definition that `workflowKeyPaths` walks. */
interface SchemaDef {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
  innerType?: { _zod: { def: SchemaDef } };
  options?: { _zod: { def: SchemaDef } }[];
  in?: { _zod: { def: SchemaDef } };
}

/**
 * Every key path a workflow file may contain (`genai.trainingConfig.loraR`, ...), read from the
 * schema itself, so the reference in docs/workflows.md can be checked against it.
 */
export function workflowKeyPaths(): string[] {
  const out = new Set<string>();
  const walk = (def: SchemaDef, prefix: string): void => {
    switch (def.type) {
      case 'object':
        for (const [k, v] of Object.entries(def.shape ?? {})) {
          const p = prefix ? `${prefix}.${k}` : k;
          out.add(p);
          walk(v._zod.def, p);
        }
        return;
      case 'optional':
      case 'default':
      case 'prefault':
      case 'nullable':
        if (def.innerType) walk(def.innerType._zod.def, prefix);
        return;
      case 'union':
        for (const o of def.options ?? []) walk(o._zod.def, prefix);
        return;
      case 'pipe':
        if (def.in) walk(def.in._zod.def, prefix);
        return;
      default:
        return;
    }
  };
  walk((workflowSchema as unknown as { _zod: { def: SchemaDef } })._zod.def, '');
  return [...out];
}
