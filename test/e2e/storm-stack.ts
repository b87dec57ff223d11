/**
 * The whole GenAI path on one machine for the e2e tests: `startStack` with the real bundled
 * functions under the real FDK, the GenAI emulator service, and SDK clients for the test's own
 * uploads and checks. Build the functions first: `node scripts/build.mjs --functions-only`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileAuthenticationDetailsProvider } from 'oci-common';
import { GenerativeAiClient, type models as genaiModels } from 'oci-generativeai';
import { ObjectStorageClient } from 'oci-objectstorage';
import { genAiService, type GenAiEmulatorOptions } from '#local/emulator/genai.ts';
import type { FaultOptions } from '#local/emulator/index.ts';
import type { FunctionLogEntry } from '#local/runner/index.ts';
import { projectRoot, startStack, type Stack } from '#local/stack.ts';
import { createClient } from '#shared/oci/clients.ts';
import { realCasDeps } from '#shared/state/cas.ts';
import { ObjectStorageStore } from '#shared/state/object-storage.ts';
import { RunRepository, mapLimit, runRecordShape } from '#shared/state/runs.ts';
import type { Run } from '#workflows/machine.ts';

const maxLogLines = 100_000;

export const bucket = 'storm-datasets';
export const prefix = 'train/';
export const fineTuningCluster = 'storm-ft';

/** The four functions of the GenAI path (scale-dac is not part of it). */
export const pathFunctions = [
  'validate-dataset',
  'start-finetune',
  'deploy-endpoint',
  'poll-status',
] as const;

/**
 * The OCI operations the four functions call, by the emulator's route names: fault injection is
 * limited to these. The stack's setup calls (buckets, topics, rules) see none; the test's own
 * uploads and checks share PutObject, GetObject and ListObjects with the functions, so they retry
 * (the SDK's default retry) like the functions do.
 */
export const functionOperations = [
  'GetNamespace',
  'GetObject',
  'HeadObject',
  'PutObject',
  'ListObjects',
  'DeleteObject',
  'PublishMessage',
  'ListModels',
  'GetModel',
  'CreateModel',
  'ListDedicatedAiClusters',
  'GetDedicatedAiCluster',
  'ListEndpoints',
  'GetEndpoint',
  'CreateEndpoint',
  'DeleteEndpoint',
];

export function hostingClusterName(i: number): string {
  return `storm-hosting-${i}`;
}

/** A GenAI workflow on `bucket`/`prefix` with `hostingClusters` hosting clusters, in order. */
export function stormWorkflow(hostingClusters: number): string {
  const names = Array.from({ length: hostingClusters }, (_, i) => hostingClusterName(i + 1));
  return `
name: storm
backend: genai
trigger: { bucket: ${bucket}, prefix: ${prefix} }
genai:
  baseModel: cohere.command-r-08-2024
  trainingConfig: { trainingConfigType: TFEW_TRAINING_CONFIG, totalTrainingEpochs: 1 }
  fineTuningCluster: ${fineTuningCluster}
  hostingClusters: [${names.join(', ')}]
  endpoint: { contentModeration: { isEnabled: false } }
`;
}

/** `n` valid prompt/completion lines, distinct per `tag`. */
export function datasetText(n: number, tag: string): string {
  return (
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({ prompt: `question ${tag} ${i}?`, completion: `answer ${tag} ${i}.` }),
    ).join('\n') + '\n'
  );
}

export interface E2eStackOptions {
  hostingClusters: number;
  genai?: Omit<GenAiEmulatorOptions, 'seedClusters'>;
  faults?: FaultOptions;
  seed?: number;
  pollCron?: string;
  /** Concurrent instances per function name (`default` for the rest); 1 by default. */
  instances?: Readonly<Record<string, number>>;
}

export interface E2eStack {
  stack: Stack;
  genaiControl: ReturnType<typeof genAiService>['control'];
  objects: ObjectStorageClient;
  genai: GenerativeAiClient;
  runs: RunRepository<Run>;
  namespace: string;
  compartmentId: string;
  pipelineTopicId: string;
  /**
   * Uploads a dataset object with `If-None-Match: *` unless `overwrite`: a retried PUT whose first
   * attempt committed (an injected post-commit 5xx) then fails its precondition instead of writing
   * a second version (which would be a second run, as on OCI). Returns the ETag when known.
   */
  upload(name: string, text: string, overwrite?: boolean): Promise<string | undefined>;
  /** Every stored run (terminal ones included). */
  allRuns(): Promise<Run[]>;
  /** Custom models and live endpoints in the compartment. */
  customModels(): Promise<genaiModels.ModelSummary[]>;
  endpoints(): Promise<genaiModels.EndpointSummary[]>;
  /** Distinct run ids per notification event published to the pipeline topic. */
  notified(event: string): Set<string>;
  /**
   * Holds every delivery to function `fn` whose body contains `needle` until the returned
   * function is called: a test orders "this happens before that step runs" without sleeping.
   */
  hold(fn: (typeof pathFunctions)[number], needle: string): () => void;
  /** What the functions printed (the first 100,000 lines), for a failing test's diagnosis. */
  logs(): readonly FunctionLogEntry[];
  close(): Promise<void>;
}

/** The bundles under test: `dist/functions`, or DACFLOW_E2E_FUNCTIONS_DIR (a private build). */
export const functionsDir = (): string =>
  process.env.DACFLOW_E2E_FUNCTIONS_DIR ?? join(projectRoot(), 'dist/functions');

export function functionsBuilt(): boolean {
  return pathFunctions.every((f) => existsSync(join(functionsDir(), f, 'func.js')));
}

export async function startE2eStack(o: E2eStackOptions): Promise<E2eStack> {
  if (!functionsBuilt()) {
    throw new Error('functions are not built: run `node scripts/build.mjs --functions-only` first');
  }
  const dir = mkdtempSync(join(tmpdir(), 'dacflow-e2e-'));
  const service = genAiService({
    clusterCreateMs: 0,
    ...o.genai,
    seedClusters: [
      {
        displayName: fineTuningCluster,
        type: 'FINE_TUNING',
        unitShape: 'SMALL_COHERE_V2',
        unitCount: 8,
      },
      ...Array.from({ length: o.hostingClusters }, (_, i) => ({
        displayName: hostingClusterName(i + 1),
        type: 'HOSTING' as const,
        unitShape: 'SMALL_COHERE_V2',
        unitCount: 1,
      })),
    ],
  });
  const fnDir = functionsDir();
  const logLines: FunctionLogEntry[] = [];
  const stack = await startStack({
    dataDir: join(dir, 'data'),
    fast: true,
    seed: o.seed ?? 7,
    workflows: [stormWorkflow(o.hostingClusters)],
    services: [service],
    functions: Object.fromEntries(pathFunctions.map((f) => [f, join(fnDir, f)])),
    pollCron: o.pollCron ?? '* * * * *',
    functionLogSink: (entry) => {
      if (logLines.length < maxLogLines) logLines.push(entry);
    },
    ...(o.faults ? { faults: o.faults } : {}),
    ...(o.instances ? { instances: o.instances } : {}),
  });
  // Deliveries go through the stack's own invoke, behind gates a test can close (`hold`).
  const gates: { fn: string; match: (body: string) => boolean; open: Promise<void> }[] = [];
  stack.emulator.setInvoker(async (functionId, body, headers) => {
    const text = body.toString('utf8');
    for (const g of gates) if (functionId.endsWith(`..${g.fn}`) && g.match(text)) await g.open;
    const r = await stack.invoke(functionId, body, headers);
    return { status: r.status, body: r.body };
  });
  const provider = new ConfigFileAuthenticationDetailsProvider(
    stack.local.configFile,
    stack.local.profile,
  );
  const objects = createClient(ObjectStorageClient, { provider, endpoint: stack.emulator.url });
  const genai = createClient(GenerativeAiClient, { provider, endpoint: stack.emulator.url });
  const namespace = stack.local.namespace;
  const compartmentId = stack.local.compartmentId;
  const runs = new RunRepository(
    new ObjectStorageStore({ client: objects, namespace, bucket: stack.local.buckets.state }),
    runRecordShape,
    { cas: realCasDeps, nowMs: () => Date.now() },
  );
  const pipelineTopicId = stack.local.topics.pipeline;

  return {
    stack,
    genaiControl: service.control,
    objects,
    genai,
    runs,
    namespace,
    compartmentId,
    pipelineTopicId,
    async upload(name, text, overwrite = false) {
      try {
        const res = await objects.putObject({
          namespaceName: namespace,
          bucketName: bucket,
          objectName: `${prefix}${name}`,
          putObjectBody: text,
          ...(overwrite ? {} : { ifNoneMatch: '*' }),
        });
        return res.eTag;
      } catch (err) {
        // Our own earlier attempt committed and only its answer was lost.
        if (!overwrite && (err as { statusCode?: number }).statusCode === 412) return undefined;
        throw err;
      }
    },
    async allRuns() {
      const ids: string[] = [];
      for await (const id of runs.runIds()) ids.push(id);
      const got = await mapLimit(ids, 8, (id) => runs.get(id));
      return got.filter((r): r is Run => r !== undefined);
    },
    async customModels() {
      const items: genaiModels.ModelSummary[] = [];
      let page: string | undefined;
      do {
        const res = await genai.listModels({
          compartmentId,
          limit: 1000,
          ...(page ? { page } : {}),
        });
        items.push(...res.modelCollection.items.filter((m) => m.type === 'CUSTOM'));
        page = res.opcNextPage;
      } while (page);
      return items;
    },
    async endpoints() {
      const items: genaiModels.EndpointSummary[] = [];
      let page: string | undefined;
      do {
        const res = await genai.listEndpoints({
          compartmentId,
          limit: 1000,
          ...(page ? { page } : {}),
        });
        items.push(...res.endpointCollection.items);
        page = res.opcNextPage;
      } while (page);
      return items;
    },
    notified(event) {
      const ids = new Set<string>();
      for (const m of stack.emulator.outbox(pipelineTopicId)) {
        if (m.kind !== 'message') continue;
        try {
          const body = JSON.parse(m.body) as { runId?: string; event?: string };
          if (body.event === event && body.runId) ids.add(body.runId);
        } catch {
          // not a run notification
        }
      }
      return ids;
    },
    logs: () => logLines,
    hold(fn, needle) {
      let release!: () => void;
      const open = new Promise<void>((r) => (release = r));
      const gate = { fn, match: (body: string) => body.includes(needle), open };
      gates.push(gate);
      return () => {
        gates.splice(gates.indexOf(gate), 1);
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
