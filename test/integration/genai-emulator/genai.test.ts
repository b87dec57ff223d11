/**
 * The Generative AI management API of the local emulator, driven through the real
 * GenerativeAiClient (signed requests, SDK serialization, SDK waiters).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as common from 'oci-common';
import { GenerativeAiClient, models } from 'oci-generativeai';
import { ObjectStorageClient } from 'oci-objectstorage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '#local/emulator/index.ts';
import {
  genAiService,
  type GenAiEmulatorOptions,
  type GenAiEmulatorService,
} from '#local/emulator/genai.ts';

// With `fast` the emulator divides these by 100: 200 ms clusters, 300 ms training, 100 ms endpoints.
const delays: GenAiEmulatorOptions = {
  clusterCreateMs: 20_000,
  clusterUpdateMs: 20_000,
  clusterDeleteMs: 5_000,
  modelTrainingMs: 30_000,
  modelDeleteMs: 5_000,
  endpointCreateMs: 10_000,
  endpointUpdateMs: 5_000,
  endpointDeleteMs: 5_000,
};

const waiterConfig: common.WaiterConfiguration = {
  terminationStrategy: new common.MaxTimeTerminationStrategy(20),
  delayStrategy: new common.FixedTimeDelayStrategy(0.05),
};

interface Harness {
  emu: Emulator;
  genai: GenAiEmulatorService;
  client: GenerativeAiClient;
  os: ObjectStorageClient;
  dir: string;
}

async function start(dir: string, options: GenAiEmulatorOptions = {}): Promise<Harness> {
  const genai = genAiService({ ...delays, ...options });
  const emu = await startEmulator({ dataDir: dir, fast: true, services: [genai] });
  const authenticationDetailsProvider = new common.ConfigFileAuthenticationDetailsProvider(
    emu.configFile,
    emu.profile,
  );
  // No SDK retries: the tests assert on the first error, including retryable 409 IncorrectState.
  const client = new GenerativeAiClient(
    { authenticationDetailsProvider },
    { retryConfiguration: common.NoRetryConfigurationDetails },
  );
  client.endpoint = emu.url;
  const os = new ObjectStorageClient({ authenticationDetailsProvider });
  os.endpoint = emu.url;
  return { emu, genai, client, os, dir };
}

async function ociError(
  p: Promise<unknown>,
): Promise<{ status: number; code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof common.OciError)
      return { status: err.statusCode, code: err.serviceCode, message: err.message };
    throw err;
  }
  throw new Error('expected an OCI error');
}

const State = models.DedicatedAiCluster.LifecycleState;

describe('Generative AI emulator through the real SDK', () => {
  let h: Harness;
  let dir: string;
  let ftClusterId: string;
  let hostClusterId: string;
  let cohereId: string;
  const bucketName = 'datasets';

  const dataset = (objectName: string) => ({
    datasetType: 'OBJECT_STORAGE' as const,
    namespaceName: h.emu.namespace,
    bucketName,
    objectName,
  });
  const modelDetails = (
    objectName = 'train.jsonl',
    over: Partial<models.CreateModelDetails> = {},
  ) => ({
    compartmentId: h.emu.compartmentId,
    displayName: 'ft-model',
    baseModelId: cohereId,
    fineTuneDetails: {
      trainingDataset: dataset(objectName),
      dedicatedAiClusterId: ftClusterId,
      trainingConfig: {
        trainingConfigType: 'LORA_TRAINING_CONFIG',
        loraR: 8,
        totalTrainingEpochs: 3,
      },
    },
    ...over,
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dacflow-genai-'));
    h = await start(dir);
    await h.os.createBucket({
      namespaceName: h.emu.namespace,
      createBucketDetails: { name: bucketName, compartmentId: h.emu.compartmentId },
    });
    for (const name of ['train.jsonl', 'bad-FAIL_TRAINING.jsonl']) {
      await h.os.putObject({
        namespaceName: h.emu.namespace,
        bucketName,
        objectName: name,
        putObjectBody: '{"prompt":"p","completion":"c"}\n',
      });
    }
    const base = await h.client.listModels({
      compartmentId: h.emu.compartmentId,
      capability: [models.ModelCapability.FineTune],
      displayName: 'cohere.command-r-08-2024',
    });
    cohereId = base.modelCollection.items[0]!.id;
  });
  afterAll(async () => {
    await h.emu.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists base models by capability (array query parameter)', async () => {
    const ft = await h.client.listModels({
      compartmentId: h.emu.compartmentId,
      capability: [models.ModelCapability.FineTune],
    });
    const names = ft.modelCollection.items.map((m) => m.displayName);
    expect(names).toEqual(
      expect.arrayContaining(['cohere.command-r-08-2024', 'meta.llama-3.3-70b-instruct']),
    );
    expect(names).not.toContain('cohere.embed-english-v3.0');
    const base = await h.client.getModel({ modelId: cohereId });
    expect(base.model.type).toBe(models.Model.Type.Base);
  });

  it('creates clusters and waits for ACTIVE with the SDK waiters and work requests', async () => {
    const ft = await h.client.createDedicatedAiCluster({
      createDedicatedAiClusterDetails: {
        compartmentId: h.emu.compartmentId,
        displayName: 'ft',
        type: 'FINE_TUNING',
        unitShape: 'SMALL_COHERE_V2',
        unitCount: 8,
      },
    });
    expect(ft.dedicatedAiCluster.lifecycleState).toBe(State.Creating);
    expect(ft.etag).toBeTruthy();
    expect(ft.opcWorkRequestId).toBeTruthy();
    const host = await h.client.createDedicatedAiCluster({
      createDedicatedAiClusterDetails: {
        compartmentId: h.emu.compartmentId,
        displayName: 'host',
        type: 'HOSTING',
        unitShape: 'SMALL_COHERE_V2',
        unitCount: 1,
      },
    });
    const waiters = h.client.createWaiters(waiterConfig);
    const activeFt = await waiters.forDedicatedAiCluster(
      { dedicatedAiClusterId: ft.dedicatedAiCluster.id },
      State.Active,
    );
    const activeHost = await waiters.forDedicatedAiCluster(
      { dedicatedAiClusterId: host.dedicatedAiCluster.id },
      State.Active,
    );
    expect(activeFt?.dedicatedAiCluster.unitCount).toBe(8);
    expect(activeHost?.dedicatedAiCluster.capacity).toEqual({
      capacityType: 'HOSTING_CAPACITY',
      totalEndpointCapacity: 50,
      usedEndpointCapacity: 0,
    });
    const wr = await waiters.forWorkRequest({ workRequestId: ft.opcWorkRequestId });
    expect(wr.workRequest.status).toBe(models.OperationStatus.Succeeded);
    expect(wr.workRequest.percentComplete).toBe(100);
    expect(wr.workRequest.resources[0]).toMatchObject({
      actionType: 'CREATED',
      identifier: ft.dedicatedAiCluster.id,
    });
    ftClusterId = ft.dedicatedAiCluster.id;
    hostClusterId = host.dedicatedAiCluster.id;

    const page1 = await h.client.listDedicatedAiClusters({
      compartmentId: h.emu.compartmentId,
      limit: 1,
    });
    expect(page1.dedicatedAiClusterCollection.items).toHaveLength(1);
    expect(page1.opcNextPage).toBeTruthy();
    const page2 = await h.client.listDedicatedAiClusters({
      compartmentId: h.emu.compartmentId,
      limit: 1,
      page: page1.opcNextPage,
    });
    expect(page2.dedicatedAiClusterCollection.items[0]!.id).not.toBe(
      page1.dedicatedAiClusterCollection.items[0]!.id,
    );
    expect(page2.opcNextPage).toBeUndefined();
  });

  it('fine-tunes a model to ACTIVE with metrics', async () => {
    const r = await h.client.createModel({ createModelDetails: modelDetails() });
    expect(r.model.lifecycleState).toBe(models.Model.LifecycleState.Creating);
    expect(r.opcWorkRequestId).toBeTruthy();
    const done = await h.client
      .createWaiters(waiterConfig)
      .forModel(
        { modelId: r.model.id },
        models.Model.LifecycleState.Active,
        models.Model.LifecycleState.Failed,
      );
    expect(done?.model.lifecycleState).toBe(models.Model.LifecycleState.Active);
    expect(done?.model.modelMetrics).toMatchObject({ modelMetricsType: 'CHAT_MODEL_METRICS' });
    expect(done?.model.fineTuneDetails?.trainingConfig).toMatchObject({
      trainingConfigType: 'LORA_TRAINING_CONFIG',
      loraR: 8,
    });
  });

  it('reports each createModel precondition as OCI would', async () => {
    const embed = (
      await h.client.listModels({
        compartmentId: h.emu.compartmentId,
        displayName: 'cohere.embed-english-v3.0',
      })
    ).modelCollection.items[0]!.id;
    const missingDataset = await ociError(
      h.client.createModel({ createModelDetails: modelDetails('nope.jsonl') }),
    );
    expect(missingDataset).toMatchObject({ status: 404, code: 'NotAuthorizedOrNotFound' });
    expect(missingDataset.message).toMatch(/nope\.jsonl not found/);
    expect(
      await ociError(
        h.client.createModel({
          createModelDetails: modelDetails('train.jsonl', {
            baseModelId: 'ocid1.generativeaimodel.oc1..x',
          }),
        }),
      ),
    ).toMatchObject({ status: 404 });
    expect(
      await ociError(
        h.client.createModel({
          createModelDetails: modelDetails('train.jsonl', { baseModelId: embed }),
        }),
      ),
    ).toMatchObject({ status: 400, code: 'InvalidParameter' });
    const onHosting = modelDetails();
    onHosting.fineTuneDetails.dedicatedAiClusterId = hostClusterId;
    expect(await ociError(h.client.createModel({ createModelDetails: onHosting }))).toMatchObject({
      status: 400,
    });
    const noCluster = modelDetails();
    noCluster.fineTuneDetails.dedicatedAiClusterId =
      'ocid1.generativeaidedicatedaicluster.oc1..gone';
    expect(await ociError(h.client.createModel({ createModelDetails: noCluster }))).toMatchObject({
      status: 404,
    });
    const badConfig = modelDetails();
    badConfig.fineTuneDetails.trainingConfig = { trainingConfigType: 'MAGIC_TRAINING_CONFIG' };
    expect(await ociError(h.client.createModel({ createModelDetails: badConfig }))).toMatchObject({
      status: 400,
    });

    const creating = await h.client.createDedicatedAiCluster({
      createDedicatedAiClusterDetails: {
        compartmentId: h.emu.compartmentId,
        type: 'FINE_TUNING',
        unitShape: 'SMALL_COHERE_V2',
        unitCount: 8,
      },
    });
    const notActive = modelDetails();
    notActive.fineTuneDetails.dedicatedAiClusterId = creating.dedicatedAiCluster.id;
    expect(await ociError(h.client.createModel({ createModelDetails: notActive }))).toMatchObject({
      status: 409,
      code: 'IncorrectState',
    });
  });

  it('honours opc-retry-token: one model for a repeated request, 409 for a changed body', async () => {
    const opcRetryToken = 'dacflow-run-42';
    const a = await h.client.createModel({
      createModelDetails: modelDetails('train.jsonl', { displayName: 'rt' }),
      opcRetryToken,
    });
    const b = await h.client.createModel({
      createModelDetails: modelDetails('train.jsonl', { displayName: 'rt' }),
      opcRetryToken,
    });
    expect(b.model.id).toBe(a.model.id);
    expect(b.opcWorkRequestId).toBe(a.opcWorkRequestId);
    const changed = await ociError(
      h.client.createModel({
        createModelDetails: modelDetails('train.jsonl', { displayName: 'rt-2' }),
        opcRetryToken,
      }),
    );
    expect(changed).toMatchObject({ status: 409, code: 'InvalidatedRetryToken' });
    const named = await h.client.listModels({
      compartmentId: h.emu.compartmentId,
      displayName: 'rt',
    });
    expect(named.modelCollection.items).toHaveLength(1);
  });

  it('creates one model when every attempt fails after committing (SDK retries reuse the token)', async () => {
    h.emu.setFaults({ rate: 1, kinds: ['500'], postCommitRate: 1, operations: ['CreateModel'] });
    const retryConfiguration: common.RetryConfiguration = {
      terminationStrategy: new common.MaxAttemptsTerminationStrategy(4),
      delayStrategy: new common.FixedTimeDelayStrategy(0.01),
    };
    const opcRetryToken = 'post-commit-token';
    const details = modelDetails('train.jsonl', { displayName: 'post-commit' });
    try {
      const failed = await ociError(
        h.client.createModel({ createModelDetails: details, opcRetryToken, retryConfiguration }),
      );
      expect(failed.status).toBe(500);
      expect(h.emu.injectedFaults().filter((f) => f.operation === 'CreateModel')).toHaveLength(4);
    } finally {
      h.emu.setFaults(undefined);
    }
    const listed = await h.client.listModels({
      compartmentId: h.emu.compartmentId,
      displayName: 'post-commit',
    });
    expect(listed.modelCollection.items).toHaveLength(1);
    const again = await h.client.createModel({ createModelDetails: details, opcRetryToken });
    expect(again.model.id).toBe(listed.modelCollection.items[0]!.id);
  });

  it('drives a model to FAILED with details, a FAILED work request and its errors', async () => {
    const r = await h.client.createModel({
      createModelDetails: modelDetails('bad-FAIL_TRAINING.jsonl', { displayName: 'doomed' }),
    });
    const done = await h.client
      .createWaiters(waiterConfig)
      .forModel(
        { modelId: r.model.id },
        models.Model.LifecycleState.Active,
        models.Model.LifecycleState.Failed,
      );
    expect(done?.model.lifecycleState).toBe(models.Model.LifecycleState.Failed);
    expect(done?.model.lifecycleDetails).toMatch(/bad-FAIL_TRAINING\.jsonl/);
    const wr = await h.client.getWorkRequest({ workRequestId: r.opcWorkRequestId });
    expect(wr.workRequest.status).toBe(models.OperationStatus.Failed);
    const errors = await h.client.listWorkRequestErrors({ workRequestId: r.opcWorkRequestId });
    expect(errors.workRequestErrorCollection.items[0]?.message).toBe(done?.model.lifecycleDetails);
    const logs = await h.client.listWorkRequestLogs({ workRequestId: r.opcWorkRequestId });
    expect(logs.workRequestLogEntryCollection.items.length).toBe(3);
  });

  it('hosts 50 endpoints on a hosting cluster and refuses the 51st', async () => {
    const model = (
      await h.client.listModels({ compartmentId: h.emu.compartmentId, displayName: 'ft-model' })
    ).modelCollection.items[0]!;
    const first = await h.client.createEndpoint({
      createEndpointDetails: {
        compartmentId: h.emu.compartmentId,
        modelId: model.id,
        dedicatedAiClusterId: hostClusterId,
        displayName: 'e0',
        contentModerationConfig: {
          isEnabled: true,
          mode: models.ContentModerationConfig.Mode.Block,
        },
      },
    });
    expect(first.opcWorkRequestId).toBeTruthy();
    const active = await h.client
      .createWaiters(waiterConfig)
      .forEndpoint({ endpointId: first.endpoint.id }, models.Endpoint.LifecycleState.Active);
    expect(active?.endpoint.contentModerationConfig).toEqual({ isEnabled: true, mode: 'BLOCK' });
    for (let i = 1; i < 50; i++) {
      await h.client.createEndpoint({
        createEndpointDetails: {
          compartmentId: h.emu.compartmentId,
          modelId: model.id,
          dedicatedAiClusterId: hostClusterId,
          displayName: `e${i}`,
        },
      });
    }
    const cluster = await h.client.getDedicatedAiCluster({ dedicatedAiClusterId: hostClusterId });
    expect(cluster.dedicatedAiCluster.capacity).toMatchObject({
      totalEndpointCapacity: 50,
      usedEndpointCapacity: 50,
    });
    const full = await ociError(
      h.client.createEndpoint({
        createEndpointDetails: {
          compartmentId: h.emu.compartmentId,
          modelId: model.id,
          dedicatedAiClusterId: hostClusterId,
        },
      }),
    );
    expect(full).toMatchObject({ status: 400, code: 'LimitExceeded' });
    const listed = await h.client.listEndpoints({
      compartmentId: h.emu.compartmentId,
      displayName: 'e7',
    });
    expect(listed.endpointCollection.items).toHaveLength(1);
  });

  it('rejects an update with a stale If-Match (412) and scales with the current etag', async () => {
    const before = await h.client.getDedicatedAiCluster({ dedicatedAiClusterId: hostClusterId });
    const renamed = await h.client.updateDedicatedAiCluster({
      dedicatedAiClusterId: hostClusterId,
      updateDedicatedAiClusterDetails: { description: 'changed' },
      ifMatch: before.etag,
    });
    expect(renamed.etag).not.toBe(before.etag);
    const stale = await ociError(
      h.client.updateDedicatedAiCluster({
        dedicatedAiClusterId: hostClusterId,
        updateDedicatedAiClusterDetails: { unitCount: 2 },
        ifMatch: before.etag,
      }),
    );
    expect(stale).toMatchObject({ status: 412, code: 'NoEtagMatch' });
    const scaled = await h.client.updateDedicatedAiCluster({
      dedicatedAiClusterId: hostClusterId,
      updateDedicatedAiClusterDetails: { unitCount: 2 },
      ifMatch: renamed.etag,
    });
    expect(scaled.dedicatedAiCluster.lifecycleState).toBe(State.Updating);
    expect(scaled.opcWorkRequestId).toBeTruthy();
    const done = await h.client
      .createWaiters(waiterConfig)
      .forDedicatedAiCluster({ dedicatedAiClusterId: hostClusterId }, State.Active);
    expect(done?.dedicatedAiCluster.unitCount).toBe(2);
    const wrs = await h.client.listWorkRequests({
      compartmentId: h.emu.compartmentId,
      resourceId: hostClusterId,
    });
    expect(wrs.workRequestSummaryCollection.items.map((w) => w.operationType)).toEqual(
      expect.arrayContaining(['CREATE_DEDICATED_AI_CLUSTER', 'UPDATE_DEDICATED_AI_CLUSTER']),
    );
  });

  it('deletes an endpoint (202 + work request) and the waiter sees DELETED', async () => {
    const e = (
      await h.client.listEndpoints({ compartmentId: h.emu.compartmentId, displayName: 'e0' })
    ).endpointCollection.items[0]!;
    const del = await h.client.deleteEndpoint({ endpointId: e.id });
    expect(del.opcWorkRequestId).toBeTruthy();
    const gone = await h.client
      .createWaiters(waiterConfig)
      .forEndpoint({ endpointId: e.id }, models.Endpoint.LifecycleState.Deleted);
    expect(gone?.endpoint.lifecycleState).toBe('DELETED');
    const cluster = await h.client.getDedicatedAiCluster({ dedicatedAiClusterId: hostClusterId });
    expect(cluster.dedicatedAiCluster.capacity?.usedEndpointCapacity).toBe(49);
  });

  it('lets tests force NEEDS_ATTENTION on a cluster', async () => {
    h.genai.control.forceClusterState(ftClusterId, 'NEEDS_ATTENTION', 'node failure');
    const c = await h.client.getDedicatedAiCluster({ dedicatedAiClusterId: ftClusterId });
    expect(c.dedicatedAiCluster.lifecycleState).toBe(State.NeedsAttention);
    expect(
      await ociError(h.client.createModel({ createModelDetails: modelDetails() })),
    ).toMatchObject({ status: 409 });
    h.genai.control.forceClusterState(ftClusterId, 'ACTIVE');
  });
});

describe('Generative AI emulator across a restart', () => {
  it('finishes a CREATING cluster and model after the emulator restarts on the same data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dacflow-genai-restart-'));
    try {
      const slow = { clusterCreateMs: 30_000, modelTrainingMs: 30_000 };
      let h = await start(dir, {
        ...slow,
        seedClusters: [
          {
            displayName: 'seed-ft',
            type: 'FINE_TUNING',
            unitShape: 'SMALL_COHERE_V2',
            unitCount: 8,
          },
        ],
      });
      const seeded = h.genai.control.clusterIdByName('seed-ft');
      expect(seeded).toBeTruthy();
      await h.os.createBucket({
        namespaceName: h.emu.namespace,
        createBucketDetails: { name: 'ds', compartmentId: h.emu.compartmentId },
      });
      await h.os.putObject({
        namespaceName: h.emu.namespace,
        bucketName: 'ds',
        objectName: 'train.jsonl',
        putObjectBody: '{"prompt":"p","completion":"c"}\n',
      });
      const base = await h.client.listModels({
        compartmentId: h.emu.compartmentId,
        displayName: 'cohere.command-r-08-2024',
      });
      const model = await h.client.createModel({
        createModelDetails: {
          compartmentId: h.emu.compartmentId,
          baseModelId: base.modelCollection.items[0]!.id,
          fineTuneDetails: {
            trainingDataset: {
              datasetType: 'OBJECT_STORAGE',
              namespaceName: h.emu.namespace,
              bucketName: 'ds',
              objectName: 'train.jsonl',
            },
            dedicatedAiClusterId: seeded!,
          },
        },
      });
      const created = await h.client.createDedicatedAiCluster({
        createDedicatedAiClusterDetails: {
          compartmentId: h.emu.compartmentId,
          type: 'HOSTING',
          unitShape: 'SMALL_COHERE_V2',
          unitCount: 1,
        },
      });
      await h.emu.close();

      h = await start(dir, {
        ...slow,
        seedClusters: [
          {
            displayName: 'seed-ft',
            type: 'FINE_TUNING',
            unitShape: 'SMALL_COHERE_V2',
            unitCount: 8,
          },
        ],
      });
      expect(h.genai.control.clusterIdByName('seed-ft')).toBe(seeded);
      const all = await h.client.listDedicatedAiClusters({ compartmentId: h.emu.compartmentId });
      expect(all.dedicatedAiClusterCollection.items).toHaveLength(2);
      const active = await h.client
        .createWaiters(waiterConfig)
        .forDedicatedAiCluster(
          { dedicatedAiClusterId: created.dedicatedAiCluster.id },
          State.Active,
        );
      expect(active?.dedicatedAiCluster.lifecycleState).toBe(State.Active);
      const trained = await h.client
        .createWaiters(waiterConfig)
        .forModel(
          { modelId: model.model.id },
          models.Model.LifecycleState.Active,
          models.Model.LifecycleState.Failed,
        );
      expect(trained?.model.lifecycleState).toBe(models.Model.LifecycleState.Active);
      await h.emu.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
