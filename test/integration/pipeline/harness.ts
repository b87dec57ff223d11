/**
 * The pipeline's use cases wired to the real OCI SDK clients on the local emulator (with the GenAI
 * service), in-process: what the functions do, without the Fn runner in between.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as common from 'oci-common';
import { GenerativeAiClient } from 'oci-generativeai';
import { NotificationControlPlaneClient, NotificationDataPlaneClient } from 'oci-ons';
import { ObjectStorageClient } from 'oci-objectstorage';
import { startEmulator, type Emulator, type FaultOptions } from '#local/emulator/index.ts';
import {
  demoSeedClusters,
  genAiService,
  type GenAiEmulatorOptions,
} from '#local/emulator/genai.ts';
import { silentLogger } from '#shared/log.ts';
import { Notifier, runNotification } from '#shared/notify.ts';
import { createClient } from '#shared/oci/clients.ts';
import type { PipelineDeps } from '#shared/pipeline/deps.ts';
import { realCasDeps } from '#shared/state/cas.ts';
import { ObjectStorageStore } from '#shared/state/object-storage.ts';
import { RunRepository, runRecordShape } from '#shared/state/runs.ts';
import type { Run } from '#workflows/machine.ts';
import { parseWorkflows } from '#workflows/schema.ts';

export const workflowYaml = `
name: bot
backend: genai
trigger: { bucket: datasets, prefix: train/ }
genai:
  baseModel: cohere.command-r-08-2024
  trainingConfig: { trainingConfigType: TFEW_TRAINING_CONFIG, totalTrainingEpochs: 1 }
  fineTuningCluster: dacflow-ft-cohere
  hostingClusters: [dacflow-hosting-cohere]
  endpoint: { contentModeration: { isEnabled: false } }
`;

/** `n` valid prompt/completion lines. */
export function dataset(n: number, tag = 'a'): string {
  return (
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({ prompt: `question ${tag} ${i}?`, completion: `answer ${tag} ${i}.` }),
    ).join('\n') + '\n'
  );
}

export interface Harness {
  emu: Emulator;
  deps: PipelineDeps;
  objects: ObjectStorageClient;
  genai: GenerativeAiClient;
  namespace: string;
  genaiControl: ReturnType<typeof genAiService>['control'];
  topics: {
    pipeline: string;
    validateDataset: string;
    startFinetune: string;
    deployEndpoint: string;
  };
  /** Uploads `text` under the workflow's prefix and returns the dataset ref. */
  upload(
    name: string,
    text: string,
  ): Promise<{ namespace: string; bucket: string; object: string; etag: string }>;
  /** Notifications and work messages delivered so far to `topicId` (EMAIL sinks). */
  messages(topicId: string): { title?: string; body: string }[];
  run(runId: string): Promise<Run | undefined>;
  close(): Promise<void>;
}

export async function startHarness(
  options: { genai?: GenAiEmulatorOptions; faults?: FaultOptions; workflows?: string[] } = {},
): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'dacflow-pipeline-'));
  const genaiSvc = genAiService({
    seedClusters: [...demoSeedClusters],
    clusterCreateMs: 0,
    modelTrainingMs: 2_000,
    endpointCreateMs: 1_000,
    ...options.genai,
  });
  const emu = await startEmulator({
    dataDir,
    fast: true,
    services: [genaiSvc],
    autoConfirmEmail: true,
    seed: 7,
  });
  const provider = new common.ConfigFileAuthenticationDetailsProvider(emu.configFile, emu.profile);
  const client = <T>(C: new (p: never, c?: never) => T) =>
    createClient(C as never, { provider, endpoint: emu.url }) as T;
  const objects = client(ObjectStorageClient);
  const genai = client(GenerativeAiClient);
  const ons = client(NotificationDataPlaneClient);
  const control = client(NotificationControlPlaneClient);
  const namespace = emu.namespace;
  for (const name of ['datasets', 'state']) {
    await objects.createBucket({
      namespaceName: namespace,
      createBucketDetails: { name, compartmentId: emu.compartmentId },
    });
  }
  const topic = async (name: string) => {
    const t = await control.createTopic({
      createTopicDetails: { name, compartmentId: emu.compartmentId },
    });
    await ons.createSubscription({
      createSubscriptionDetails: {
        topicId: t.notificationTopic.topicId,
        compartmentId: emu.compartmentId,
        protocol: 'EMAIL',
        endpoint: `${name}@example.com`,
      },
    });
    return t.notificationTopic.topicId;
  };
  const topics = {
    pipeline: await topic('pipeline'),
    validateDataset: await topic('validate-dataset'),
    startFinetune: await topic('start-finetune'),
    deployEndpoint: await topic('deploy-endpoint'),
  };
  const workflows = parseWorkflows(
    (options.workflows ?? [workflowYaml]).map((text, i) => ({ fileName: `w${i}.yaml`, text })),
  );
  const runs = new RunRepository(
    new ObjectStorageStore({ client: objects, namespace, bucket: 'state' }),
    runRecordShape,
    {
      cas: realCasDeps,
      nowMs: () => Date.now(),
    },
  );
  const notifier = new Notifier(ons);
  const deps: PipelineDeps = {
    runs,
    workflows,
    objects,
    genai,
    ons,
    topics,
    notify: async (run, effect) => {
      await notifier.publish(runNotification(run, effect.event, { nowMs: Date.now() }), {
        topicId: topics.pipeline,
      });
    },
    namespace,
    compartmentId: emu.compartmentId,
    now: () => new Date(),
    log: silentLogger,
  };
  if (options.faults) emu.setFaults(options.faults);
  return {
    emu,
    deps,
    objects,
    genai,
    namespace,
    genaiControl: genaiSvc.control,
    topics,
    async upload(name, text) {
      const object = `train/${name}`;
      const res = await objects.putObject({
        namespaceName: namespace,
        bucketName: 'datasets',
        objectName: object,
        putObjectBody: text,
      });
      return { namespace, bucket: 'datasets', object, etag: res.eTag };
    },
    messages: (topicId) =>
      emu
        .outbox(topicId)
        .filter((m) => m.kind === 'message')
        .map((m) => ({ title: m.title, body: m.body })),
    run: (runId) => runs.get(runId),
    async close() {
      await emu.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  stepMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
