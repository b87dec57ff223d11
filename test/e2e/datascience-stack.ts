/**
 * The whole Data Science (AQUA) path on one machine for the e2e tests: `startStack` with its
 * default emulator services (so the stack itself seeds the workflows' project and base model and
 * creates their results buckets, as `dacflow local` does), the real bundled functions under the
 * real FDK, and SDK clients for the test's own uploads and checks. The datascience twin of
 * storm-stack.ts. Build the functions first: `node scripts/build.mjs --functions-only`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileAuthenticationDetailsProvider } from 'oci-common';
import { DataScienceClient, type models as dsModels } from 'oci-datascience';
import { ObjectStorageClient } from 'oci-objectstorage';
import type { FaultOptions } from '#local/emulator/index.ts';
import type { FunctionLogEntry } from '#local/runner/index.ts';
import { projectRoot, startStack, type Stack } from '#local/stack.ts';
import { createClient } from '#shared/oci/clients.ts';
import { realCasDeps } from '#shared/state/cas.ts';
import { ObjectStorageStore } from '#shared/state/object-storage.ts';
import { RunRepository, mapLimit, runRecordShape } from '#shared/state/runs.ts';
import type { Run } from '#workflows/machine.ts';
import { runIdFor } from '#workflows/run-id.ts';

const maxLogLines = 20_000;

export const bucket = 'ds-datasets';
/** The workflow whose results bucket is versioned. */
export const prefix = 'train/';
/** The workflow whose results bucket a test may un-version. */
export const noVersioningPrefix = 'nover/';
export const resultsBucket = 'ds-models';
export const unversionedResultsBucket = 'ds-models-nover';
/** The project OCID the workflows name; the stack seeds a project with it. */
export const projectId = 'ocid1.datascienceproject.oc1..dacflowe2eproject';
export const baseModelName = 'Meta-Llama-3.1-8B-Instruct';

/** The four functions of the pipeline (scale-dac is not part of it). */
export const pathFunctions = [
  'validate-dataset',
  'start-finetune',
  'deploy-endpoint',
  'poll-status',
] as const;

/**
 * The OCI operations the four functions call on this path (the emulator's route names): fault
 * injection is limited to these. The test's own uploads and checks share the Object Storage ones.
 */
export const functionOperations = [
  'GetNamespace',
  'GetObject',
  'HeadObject',
  'PutObject',
  'ListObjects',
  'DeleteObject',
  'GetBucket',
  'PublishMessage',
  'ListJobs',
  'CreateJob',
  'ListModels',
  'GetModel',
  'CreateModel',
  'CreateModelProvenance',
  'CreateJobRun',
  'GetJobRun',
  'ListJobRuns',
  'CancelJobRun',
  'CreateModelDeployment',
  'GetModelDeployment',
  'ListModelDeployments',
  'DeleteModelDeployment',
];

function workflow(name: string, triggerPrefix: string, outputBucket: string): string {
  return `
name: ${name}
backend: datascience
trigger: { bucket: ${bucket}, prefix: ${triggerPrefix} }
dataset: { format: aqua, minExamples: 10 }
datascience:
  projectId: ${projectId}
  baseModel: ${baseModelName}
  shape: VM.GPU.A10.2
  training: { epochs: 1, learning_rate: 0.0002, batch_size: 4, validation_set_size: 0.1 }
  outputBucket: ${outputBucket}
  deployment: { shape: VM.GPU.A10.1, instanceCount: 1, container: vllm, bandwidthMbps: 10 }
`;
}

/** `n` valid AQUA prompt/completion lines, distinct per `tag`. */
export function datasetText(n: number, tag: string): string {
  return (
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({ prompt: `question ${tag} ${i}?`, completion: `answer ${tag} ${i}.` }),
    ).join('\n') + '\n'
  );
}

export interface DsE2eStackOptions {
  faults?: FaultOptions;
  seed?: number;
  /** Concurrent instances per function name (`default` for the rest); 1 by default. */
  instances?: Readonly<Record<string, number>>;
  /** poll-status's schedule; every (emulated) minute by default. */
  pollCron?: string;
}

export interface DsE2eStack {
  stack: Stack;
  objects: ObjectStorageClient;
  datascience: DataScienceClient;
  runs: RunRepository<Run>;
  namespace: string;
  compartmentId: string;
  pipelineTopicId: string;
  /**
   * Uploads `<triggerPrefix><name>` with `If-None-Match: *`: a retried PUT whose first attempt
   * committed (an injected post-commit 5xx) then fails its precondition instead of writing a
   * second version (a second run, as on OCI). Returns the ETag when known.
   */
  upload(name: string, text: string, triggerPrefix?: string): Promise<string | undefined>;
  /** The run id of an upload (the pipeline's deterministic id: object and ETag). */
  runIdOf(name: string, etag: string | undefined, triggerPrefix?: string): string;
  allRuns(): Promise<Run[]>;
  jobs(): Promise<dsModels.JobSummary[]>;
  jobRuns(): Promise<dsModels.JobRunSummary[]>;
  models(): Promise<dsModels.ModelSummary[]>;
  deployments(): Promise<dsModels.ModelDeploymentSummary[]>;
  /** Distinct run ids per notification event published to the pipeline topic. */
  notified(event: string): Set<string>;
  /** The first notification `event` of `runId`, once published. */
  notification(runId: string, event: string): Promise<Record<string, unknown>>;
  /**
   * Loses every Object Storage event delivery of these object names (each copy, duplicates too):
   * a delivery that never reaches validate-dataset, whatever the seeded fault draws did. Returns
   * a counter of the deliveries lost so far.
   */
  loseEvents(names: readonly string[]): () => number;
  /** Holds deliveries to `fn` whose body contains `needle` until the returned function runs. */
  hold(fn: (typeof pathFunctions)[number], needle: string): () => void;
  /** What the functions printed (the first 20,000 lines), for a failing test's diagnosis. */
  logs(): readonly FunctionLogEntry[];
  close(): Promise<void>;
}

export const functionsDir = (): string =>
  process.env.DACFLOW_E2E_FUNCTIONS_DIR ?? join(projectRoot(), 'dist/functions');

export function functionsBuilt(): boolean {
  return pathFunctions.every((f) => existsSync(join(functionsDir(), f, 'func.js')));
}

/** Every page of a Data Science list call. */
async function allPages<T>(
  list: (page: string | undefined) => Promise<{ items: T[]; opcNextPage?: string }>,
): Promise<T[]> {
  const items: T[] = [];
  let page: string | undefined;
  do {
    const res = await list(page);
    items.push(...res.items);
    page = res.opcNextPage;
  } while (page);
  return items;
}

export async function startDsE2eStack(o: DsE2eStackOptions = {}): Promise<DsE2eStack> {
  if (!functionsBuilt()) {
    throw new Error('functions are not built: run `node scripts/build.mjs --functions-only` first');
  }
  const dir = mkdtempSync(join(tmpdir(), 'dacflow-ds-e2e-'));
  const fnDir = functionsDir();
  const logLines: FunctionLogEntry[] = [];
  // No `services`: the stack's defaults, which seed what the workflows name.
  const stack = await startStack({
    dataDir: join(dir, 'data'),
    fast: true,
    seed: o.seed ?? 7,
    workflows: [
      workflow('ds-storm', prefix, resultsBucket),
      workflow('ds-nover', noVersioningPrefix, unversionedResultsBucket),
    ],
    functions: Object.fromEntries(pathFunctions.map((f) => [f, join(fnDir, f)])),
    pollCron: o.pollCron ?? '* * * * *',
    functionLogSink: (entry) => {
      if (logLines.length < maxLogLines) logLines.push(entry);
    },
    ...(o.faults ? { faults: o.faults } : {}),
    ...(o.instances ? { instances: o.instances } : {}),
  });
  const gates: { fn: string; match: (body: string) => boolean; open: Promise<void> }[] = [];
  const lost = { names: [] as string[], deliveries: 0 };
  stack.emulator.setInvoker(async (functionId, body, headers) => {
    const text = body.toString('utf8');
    if (
      functionId.endsWith('..validate-dataset') &&
      text.includes('com.oraclecloud.objectstorage.') &&
      lost.names.some((n) => text.includes(n))
    ) {
      // Accepted and never run: the event is lost, only the reconciler can find the upload.
      lost.deliveries += 1;
      return { status: 200, body: Buffer.from('{}') };
    }
    for (const g of gates) if (functionId.endsWith(`..${g.fn}`) && g.match(text)) await g.open;
    const r = await stack.invoke(functionId, body, headers);
    return { status: r.status, body: r.body };
  });
  const provider = new ConfigFileAuthenticationDetailsProvider(
    stack.local.configFile,
    stack.local.profile,
  );
  const objects = createClient(ObjectStorageClient, { provider, endpoint: stack.emulator.url });
  const datascience = createClient(DataScienceClient, { provider, endpoint: stack.emulator.url });
  const namespace = stack.local.namespace;
  const compartmentId = stack.local.compartmentId;
  const runs = new RunRepository(
    new ObjectStorageStore({ client: objects, namespace, bucket: stack.local.buckets.state }),
    runRecordShape,
    { cas: realCasDeps, nowMs: () => Date.now() },
  );
  const pipelineTopicId = stack.local.topics.pipeline;
  const messages = () =>
    stack.emulator
      .outbox(pipelineTopicId)
      .filter((m) => m.kind === 'message')
      .flatMap((m) => {
        try {
          return [JSON.parse(m.body) as Record<string, unknown>];
        } catch {
          return [];
        }
      });

  return {
    stack,
    objects,
    datascience,
    runs,
    namespace,
    compartmentId,
    pipelineTopicId,
    async upload(name, text, triggerPrefix = prefix) {
      try {
        const res = await objects.putObject({
          namespaceName: namespace,
          bucketName: bucket,
          objectName: `${triggerPrefix}${name}`,
          putObjectBody: text,
          ifNoneMatch: '*',
        });
        return res.eTag;
      } catch (err) {
        // Our own earlier attempt committed and only its answer was lost.
        if ((err as { statusCode?: number }).statusCode === 412) return undefined;
        throw err;
      }
    },
    runIdOf(name, etag, triggerPrefix = prefix) {
      if (!etag) throw new Error(`no ETag for ${name}`);
      return runIdFor({ namespace, bucket, object: `${triggerPrefix}${name}`, etag });
    },
    async allRuns() {
      const ids: string[] = [];
      for await (const id of runs.runIds()) ids.push(id);
      const got = await mapLimit(ids, 8, (id) => runs.get(id));
      return got.filter((r): r is Run => r !== undefined);
    },
    jobs: () =>
      allPages(async (page) => {
        const r = await datascience.listJobs({
          compartmentId,
          limit: 1000,
          ...(page ? { page } : {}),
        });
        return { items: r.items, ...(r.opcNextPage ? { opcNextPage: r.opcNextPage } : {}) };
      }),
    jobRuns: () =>
      allPages(async (page) => {
        const r = await datascience.listJobRuns({
          compartmentId,
          limit: 1000,
          ...(page ? { page } : {}),
        });
        return { items: r.items, ...(r.opcNextPage ? { opcNextPage: r.opcNextPage } : {}) };
      }),
    models: () =>
      allPages(async (page) => {
        const r = await datascience.listModels({
          compartmentId,
          limit: 1000,
          ...(page ? { page } : {}),
        });
        return { items: r.items, ...(r.opcNextPage ? { opcNextPage: r.opcNextPage } : {}) };
      }),
    deployments: () =>
      allPages(async (page) => {
        const r = await datascience.listModelDeployments({
          compartmentId,
          limit: 1000,
          ...(page ? { page } : {}),
        });
        return { items: r.items, ...(r.opcNextPage ? { opcNextPage: r.opcNextPage } : {}) };
      }),
    notified(event) {
      const ids = new Set<string>();
      for (const b of messages()) {
        if (b.event === event && typeof b.runId === 'string') ids.add(b.runId);
      }
      return ids;
    },
    async notification(runId, event) {
      const found = await waitFor(
        () => messages().find((b) => b.runId === runId && b.event === event),
        10_000,
        100,
      );
      if (!found) throw new Error(`no ${event} notification for ${runId}`);
      return found;
    },
    logs: () => logLines,
    loseEvents(names) {
      lost.names.push(...names);
      return () => lost.deliveries;
    },
    hold(fn, needle) {
      let release!: () => void;
      const open = new Promise<void>((r) => (release = r));
      const gate = { fn, match: (body: string) => body.includes(needle), open };
      gates.push(gate);
      return () => {
        const i = gates.indexOf(gate);
        if (i >= 0) gates.splice(i, 1);
        release();
      };
    },
    async close() {
      await stack.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` every `stepMs` until it returns a value; undefined after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  stepMs = 250,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
