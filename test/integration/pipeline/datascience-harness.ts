/**
 * The pipeline's use cases wired to the real OCI SDK clients on the local emulator with the Data
 * Science service, in-process: the datascience-backend twin of harness.ts (which it reuses for the
 * dataset generator and the polling helper, and mirrors for the rest).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as common from 'oci-common';
import { DataScienceClient } from 'oci-datascience';
import { GenerativeAiClient } from 'oci-generativeai';
import { NotificationControlPlaneClient, NotificationDataPlaneClient } from 'oci-ons';
import { ObjectStorageClient } from 'oci-objectstorage';
import { startEmulator, type Emulator } from '#local/emulator/index.ts';
import {
  dataScienceService,
  type DataScienceEmulatorOptions,
  type DataScienceEmulatorService,
} from '#local/emulator/datascience.ts';
import { silentLogger } from '#shared/log.ts';
import { Notifier, runNotification } from '#shared/notify.ts';
import { createClient } from '#shared/oci/clients.ts';
import type { PipelineDeps } from '#shared/pipeline/deps.ts';
import { realCasDeps } from '#shared/state/cas.ts';
import { ObjectStorageStore } from '#shared/state/object-storage.ts';
import { RunRepository, runRecordShape } from '#shared/state/runs.ts';
import type { Run } from '#workflows/machine.ts';
import { parseWorkflows } from '#workflows/schema.ts';

export { dataset, eventually } from './harness.ts';

/** Base model display name seeded in the catalog (resolved by name, like a workflow would). */
export const baseModelName = 'Meta-Llama-3.1-8B-Instruct';

/** The images the `aqua-pinned` workflow (prefix `pinned/`) names. */
export const pinnedImages = {
  training: 'iad.ocir.io/idtlxnfdweil/odsc-llm-fine-tuning:1.1.37',
  serving: 'dsmc://odsc-tgi-serving:2.0.1.4',
};

/** A datascience workflow on `prefix` writing to `outputBucket`. */
export function dsWorkflowYaml(input: {
  name: string;
  prefix: string;
  projectId: string;
  outputBucket: string;
  chatTemplate?: 'llama2';
  /** Pinned images: the fine-tuning container, and a TGI serving image. */
  images?: { training: string; serving: string };
}): string {
  const template = input.chatTemplate ? `, chatTemplate: ${input.chatTemplate}` : '';
  const serving = input.images
    ? `container: tgi, image: "${input.images.serving}"`
    : 'container: vllm';
  return `
name: ${input.name}
backend: datascience
trigger: { bucket: datasets, prefix: ${input.prefix} }
dataset: { format: aqua, minExamples: 10${template} }
datascience:
  projectId: ${input.projectId}
  baseModel: ${baseModelName}
  shape: VM.GPU.A10.2
  training: { epochs: 2, learning_rate: 0.0002, batch_size: 4, validation_set_size: 0.1 }
  outputBucket: ${input.outputBucket}${input.images ? `\n  trainingImage: "${input.images.training}"` : ''}
  deployment: { shape: VM.GPU.A10.1, instanceCount: 1, ${serving}, bandwidthMbps: 10 }
`;
}

// With `fast` the emulator divides these by 100: a job run starts after 50 ms and succeeds 300 ms
// later; a deployment is ACTIVE 200 ms after its create.
const delays: DataScienceEmulatorOptions = {
  jobRunStartMs: 5_000,
  jobRunDurationMs: 30_000,
  jobRunCancelMs: 5_000,
  deploymentCreateMs: 20_000,
  deploymentDeleteMs: 5_000,
};

export interface DsHarness {
  emu: Emulator;
  deps: PipelineDeps;
  objects: ObjectStorageClient;
  datascience: DataScienceClient;
  dsControl: DataScienceEmulatorService['control'];
  provider: common.ConfigFileAuthenticationDetailsProvider;
  namespace: string;
  projectId: string;
  baseModelId: string;
  topics: {
    pipeline: string;
    validateDataset: string;
    startFinetune: string;
    deployEndpoint: string;
  };
  /** Uploads `text` as `<prefix><name>` in the datasets bucket and returns the dataset ref. */
  upload(
    prefix: string,
    name: string,
    text: string,
  ): Promise<{ namespace: string; bucket: string; object: string; etag: string }>;
  messages(topicId: string): { title?: string; body: string }[];
  run(runId: string): Promise<Run | undefined>;
  close(): Promise<void>;
}

/**
 * Workflows: `aqua` on `train/` (results bucket `models`, versioned), `aqua-nover` on `nover/`
 * (results bucket `models-nover`, versioning disabled) and `aqua-chat` on `chat/` (the Llama 2
 * template check on).
 */
export async function startDsHarness(
  options: { datascience?: DataScienceEmulatorOptions } = {},
): Promise<DsHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'dacflow-ds-pipeline-'));
  const dsSvc = dataScienceService({ ...delays, ...options.datascience });
  const emu = await startEmulator({
    dataDir,
    fast: true,
    services: [dsSvc],
    autoConfirmEmail: true,
    seed: 11,
  });
  const provider = new common.ConfigFileAuthenticationDetailsProvider(emu.configFile, emu.profile);
  const client = <T>(C: new (p: never, c?: never) => T) =>
    createClient(C as never, { provider, endpoint: emu.url }) as T;
  const objects = client(ObjectStorageClient);
  const datascience = client(DataScienceClient);
  const genai = client(GenerativeAiClient);
  const ons = client(NotificationDataPlaneClient);
  const control = client(NotificationControlPlaneClient);
  const namespace = emu.namespace;
  const compartmentId = emu.compartmentId;
  for (const [name, versioning] of [
    ['datasets', 'Disabled'],
    ['state', 'Disabled'],
    ['models', 'Enabled'],
    ['models-nover', 'Disabled'],
  ] as const) {
    await objects.createBucket({
      namespaceName: namespace,
      createBucketDetails: {
        name,
        compartmentId,
        versioning: versioning as never,
      },
    });
  }
  const project = await datascience.createProject({
    createProjectDetails: { compartmentId, displayName: 'dacflow-aqua' },
  });
  const projectId = project.project.id;
  const base = await datascience.createModel({
    createModelDetails: {
      compartmentId,
      projectId,
      displayName: baseModelName,
      customMetadataList: [
        { key: 'finetune-container', value: 'odsc-llm-fine-tuning', category: 'Other' },
      ],
    },
  });

  const topic = async (name: string) => {
    const t = await control.createTopic({
      createTopicDetails: { name, compartmentId },
    });
    await ons.createSubscription({
      createSubscriptionDetails: {
        topicId: t.notificationTopic.topicId,
        compartmentId,
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
    [
      dsWorkflowYaml({ name: 'aqua', prefix: 'train/', projectId, outputBucket: 'models' }),
      dsWorkflowYaml({
        name: 'aqua-nover',
        prefix: 'nover/',
        projectId,
        outputBucket: 'models-nover',
      }),
      dsWorkflowYaml({
        name: 'aqua-chat',
        prefix: 'chat/',
        projectId,
        outputBucket: 'models',
        chatTemplate: 'llama2',
      }),
      dsWorkflowYaml({
        name: 'aqua-pinned',
        prefix: 'pinned/',
        projectId,
        outputBucket: 'models',
        images: pinnedImages,
      }),
    ].map((text, i) => ({ fileName: `w${i}.yaml`, text })),
  );
  const runs = new RunRepository(
    new ObjectStorageStore({ client: objects, namespace, bucket: 'state' }),
    runRecordShape,
    { cas: realCasDeps, nowMs: () => Date.now() },
  );
  const notifier = new Notifier(ons);
  const deps: PipelineDeps = {
    runs,
    workflows,
    objects,
    genai,
    datascience,
    ons,
    topics,
    notify: async (run, effect) => {
      await notifier.publish(runNotification(run, effect.event, { nowMs: Date.now() }), {
        topicId: topics.pipeline,
      });
    },
    namespace,
    compartmentId,
    now: () => new Date(),
    log: silentLogger,
  };
  return {
    emu,
    deps,
    objects,
    datascience,
    dsControl: dsSvc.control,
    provider,
    namespace,
    projectId,
    baseModelId: base.model.id,
    topics,
    async upload(prefix, name, text) {
      const object = `${prefix}${name}`;
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

/** POSTs `body` to `<modelDeploymentUrl>/predict`, signed with the SDK's own signer (facts H). */
export async function signedPredict(
  provider: common.AuthenticationDetailsProvider,
  predictUrl: string,
  body: unknown,
): Promise<Response> {
  const http = new common.FetchHttpClient(new common.DefaultRequestSigner(provider));
  return http.send({
    method: 'POST',
    uri: predictUrl,
    headers: new Headers({ 'content-type': 'application/json' }),
    body: JSON.stringify(body),
  });
}
