// Controller latency of the GenAI path on the local stack (real functions under the real FDK,
// fast mode): per run, (a) dataset object PUT -> the createModel call reaching the emulator, and
// (b) the model becoming ACTIVE -> the createEndpoint call reaching the emulator. Every timestamp
// is the emulator's own: the object's timeCreated, the model's timeCreated, the CREATE_MODEL work
// request's timeFinished (when the emulator made the model ACTIVE) and the endpoint's timeCreated.
// Target: p99 under 2 s plus one poll interval ((a) is event-driven, (b) waits for a poll).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileAuthenticationDetailsProvider } from 'oci-common';
import { GenerativeAiClient } from 'oci-generativeai';
import { ObjectStorageClient } from 'oci-objectstorage';
import { genAiService } from '#local/emulator/genai.ts';
import { projectRoot, startStack } from '#local/stack.ts';
import { createClient } from '#shared/oci/clients.ts';
import { ObjectStorageStore } from '#shared/state/object-storage.ts';
import { RunRepository, runRecordShape } from '#shared/state/runs.ts';
import { realCasDeps } from '#shared/state/cas.ts';
import type { Run } from '#workflows/machine.ts';
import { runIdFor } from '#workflows/run-id.ts';

export const baseTargetMs = 2_000;
/** The stack's poll schedule: every minute, which fast mode runs once a real second. */
const pollCron = '* * * * *';
const pollIntervalMs = 1_000;

const bucket = 'bench-datasets';
const prefix = 'train/';
const workflow = `
name: bench
backend: genai
trigger: { bucket: ${bucket}, prefix: ${prefix} }
genai:
  baseModel: cohere.command-r-08-2024
  trainingConfig: { trainingConfigType: TFEW_TRAINING_CONFIG, totalTrainingEpochs: 1 }
  fineTuningCluster: bench-ft
  hostingClusters: [bench-hosting]
  endpoint: { contentModeration: { isEnabled: false } }
`;

export interface Percentiles {
  samples: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles, in whole milliseconds. */
export function percentiles(xs: readonly number[]): Percentiles {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => Math.round(s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] ?? NaN);
  return { samples: s.length, p50: at(50), p95: at(95), p99: at(99), max: at(100) };
}

function dataset(tag: string): string {
  return (
    Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ prompt: `question ${tag} ${i}?`, completion: `answer ${tag} ${i}.` }),
    ).join('\n') + '\n'
  );
}

export interface ControllerOptions {
  /** Uploads measured (one run each). */
  runs?: number;
  /** Pause between uploads, so the figure is latency, not a queue behind one function instance. */
  spacingMs?: number;
  /** Simulated training time before fast mode's 100x (2 s real by default). */
  modelTrainingMs?: number;
  /** Waiting for the last run to serve. */
  timeoutMs?: number;
  /** Built function bundles; `dist/functions` by default. */
  functionsDir?: string;
}

export async function benchController(options: ControllerOptions = {}): Promise<unknown> {
  const runs = options.runs ?? 30;
  const spacingMs = options.spacingMs ?? 700;
  const dir = mkdtempSync(join(tmpdir(), 'dacflow-bench-controller-'));
  const service = genAiService({
    clusterCreateMs: 0,
    modelTrainingMs: options.modelTrainingMs ?? 200_000,
    endpointCreateMs: 30_000,
    seedClusters: [
      { displayName: 'bench-ft', type: 'FINE_TUNING', unitShape: 'SMALL_COHERE_V2', unitCount: 8 },
      {
        displayName: 'bench-hosting',
        type: 'HOSTING',
        unitShape: 'SMALL_COHERE_V2',
        unitCount: 1,
      },
    ],
  });
  const fnDir = options.functionsDir ?? join(projectRoot(), 'dist/functions');
  const stack = await startStack({
    dataDir: join(dir, 'data'),
    fast: true,
    workflows: [workflow],
    services: [service],
    pollCron,
    functions: Object.fromEntries(
      ['validate-dataset', 'start-finetune', 'deploy-endpoint', 'poll-status'].map((f) => [
        f,
        join(fnDir, f),
      ]),
    ),
    functionLogSink: () => {},
  });
  try {
    const provider = new ConfigFileAuthenticationDetailsProvider(
      stack.local.configFile,
      stack.local.profile,
    );
    const objects = createClient(ObjectStorageClient, { provider, endpoint: stack.emulator.url });
    const genai = createClient(GenerativeAiClient, { provider, endpoint: stack.emulator.url });
    const namespace = stack.local.namespace;
    const repo = new RunRepository(
      new ObjectStorageStore({ client: objects, namespace, bucket: stack.local.buckets.state }),
      runRecordShape,
      { cas: realCasDeps, nowMs: () => Date.now() },
    );

    const uploaded: { runId: string; object: string }[] = [];
    for (let i = 0; i < runs; i++) {
      const object = `${prefix}bench-${String(i).padStart(3, '0')}.jsonl`;
      const res = await objects.putObject({
        namespaceName: namespace,
        bucketName: bucket,
        objectName: object,
        putObjectBody: dataset(object),
      });
      uploaded.push({ runId: runIdFor({ namespace, bucket, object, etag: res.eTag }), object });
      await new Promise((r) => setTimeout(r, spacingMs));
    }

    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    let done: Run[] = [];
    for (;;) {
      const got = await Promise.all(uploaded.map((u) => repo.get(u.runId)));
      done = got.filter((r): r is Run => r !== undefined && r.state === 'SERVING');
      if (done.length === runs || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }

    const listed = await objects.listObjects({
      namespaceName: namespace,
      bucketName: bucket,
      prefix,
      fields: 'name,timeCreated',
    });
    const putAt = new Map(
      listed.listObjects.objects.map((o) => [o.name, new Date(o.timeCreated!).getTime()]),
    );
    const putToCreateModel: number[] = [];
    const activeToCreateEndpoint: number[] = [];
    for (const run of done) {
      const { model } = await genai.getModel({ modelId: run.oci.modelId! });
      const { workRequest } = await genai.getWorkRequest({
        workRequestId: run.oci.modelWorkRequestId!,
      });
      const { endpoint } = await genai.getEndpoint({ endpointId: run.oci.endpointId! });
      const put = putAt.get(run.dataset.object);
      if (put !== undefined) putToCreateModel.push(new Date(model.timeCreated).getTime() - put);
      if (workRequest.timeFinished) {
        activeToCreateEndpoint.push(
          new Date(endpoint.timeCreated).getTime() - new Date(workRequest.timeFinished).getTime(),
        );
      }
    }

    const targetMs = baseTargetMs + pollIntervalMs;
    const a = percentiles(putToCreateModel);
    const b = percentiles(activeToCreateEndpoint);
    const report = {
      bench: 'controller',
      runs,
      serving: done.length,
      spacingMs,
      pollCron,
      pollIntervalMs,
      fast: true,
      targetMs,
      target: 'p99 under 2 s plus one poll interval',
      putToCreateModelMs: { ...a, withinTarget: a.p99 < targetMs },
      modelActiveToCreateEndpointMs: { ...b, withinTarget: b.p99 < targetMs },
      loadAverage: loadavg().map((l) => Math.round(l * 10) / 10),
      node: process.version,
    };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return report;
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
