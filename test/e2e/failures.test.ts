/**
 * How the GenAI path ends when OCI says no, through the real functions on the local stack: each
 * failure is a clear terminal state with OCI's reason in `lastError` and a notification on the
 * pipeline topic; a re-upload supersedes the older run once the newer one serves; a full hosting
 * cluster is a WAITING run that resumes when room frees.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runIdFor } from '#workflows/run-id.ts';
import type { Run, RunState } from '#workflows/machine.ts';
import {
  bucket,
  datasetText,
  fineTuningCluster,
  hostingClusterName,
  prefix,
  startE2eStack,
  waitFor,
  type E2eStack,
} from './storm-stack.ts';

/** The run of the upload that returned `etag`. */
function runIdOf(e: E2eStack, name: string, etag: string | undefined): string {
  if (!etag) throw new Error(`no ETag for ${name}`);
  return runIdFor({ namespace: e.namespace, bucket, object: `${prefix}${name}`, etag });
}

async function runIn(
  e: E2eStack,
  runId: string,
  states: readonly RunState[],
  timeoutMs = 60_000,
): Promise<Run> {
  const run = await waitFor(
    async () => {
      const r = await e.runs.get(runId);
      return r && states.includes(r.state) ? r : undefined;
    },
    timeoutMs,
    200,
  );
  if (!run) {
    const last = await e.runs.get(runId);
    throw new Error(
      `run ${runId} is ${last?.state ?? 'missing'}, not ${states.join('/')} (${JSON.stringify(last?.lastError ?? {})})`,
    );
  }
  return run;
}

/** Waits for the pipeline notification `event` of `runId` and returns its body. */
async function notification(
  e: E2eStack,
  runId: string,
  event: string,
): Promise<Record<string, unknown>> {
  const found = await waitFor(
    () =>
      e.stack.emulator
        .outbox(e.pipelineTopicId)
        .filter((m) => m.kind === 'message')
        .map((m) => JSON.parse(m.body) as Record<string, unknown>)
        .find((b) => b.runId === runId && b.event === event),
    10_000,
    100,
  );
  if (!found) throw new Error(`no ${event} notification for ${runId}`);
  return found;
}

describe('failures end in a clear terminal state', () => {
  let e: E2eStack;
  beforeAll(async () => {
    e = await startE2eStack({
      hostingClusters: 1,
      // 5 s of training and 3 s of endpoint creation: long enough to pull a cluster out from
      // under a fine-tune or an endpoint.
      genai: { modelTrainingMs: 500_000, endpointCreateMs: 300_000 },
    });
  }, 60_000);
  afterAll(async () => e?.close());

  test('a model that FAILs ends TRAINING_FAILED with OCI’s lifecycle details', async () => {
    const name = 'FAIL_TRAINING-a.jsonl';
    const runId = runIdOf(e, name, await e.upload(name, datasetText(40, 'f')));
    const run = await runIn(e, runId, ['TRAINING_FAILED', 'SERVING', 'DEPLOY_FAILED']);
    expect(run.state).toBe('TRAINING_FAILED');
    expect(run.lastError?.code).toBe('MODEL_FAILED');
    expect(run.lastError?.message).toContain(
      `could not complete on dataset object ${prefix}${name}`,
    );
    expect(await notification(e, runId, 'TRAINING_FAILED')).toMatchObject({
      state: 'TRAINING_FAILED',
      errorCode: 'MODEL_FAILED',
    });
    // The failed model is the only one: nothing retried it.
    const models = (await e.customModels()).filter((m) => m.displayName === `dacflow-${runId}`);
    expect(models.map((m) => m.lifecycleState)).toEqual(['FAILED']);
  }, 90_000);

  test('a dataset deleted before training ends TRAINING_FAILED with the 404 reason', async () => {
    // Hold start-finetune so the delete lands between validation and createModel.
    const release = e.hold('start-finetune', '');
    try {
      const name = 'deleted-before-training.jsonl';
      const runId = runIdOf(e, name, await e.upload(name, datasetText(40, 'd')));
      await runIn(e, runId, ['VALID']);
      await e.objects.deleteObject({
        namespaceName: e.namespace,
        bucketName: bucket,
        objectName: `${prefix}${name}`,
      });
      release();
      const run = await runIn(e, runId, ['TRAINING_FAILED', 'TRAINING']);
      expect(run.state).toBe('TRAINING_FAILED');
      expect(run.lastError?.code).toBe('NotAuthorizedOrNotFound');
      expect(run.lastError?.message).toContain(`Training dataset object ${prefix}${name}`);
      // People get OCI's own reason code too.
      expect(await notification(e, runId, 'TRAINING_FAILED')).toMatchObject({
        state: 'TRAINING_FAILED',
        errorCode: 'NotAuthorizedOrNotFound',
      });
    } finally {
      release();
    }
  }, 90_000);

  test('a re-upload supersedes the older run once its endpoint serves', async () => {
    const name = 'reupload.jsonl';
    const first = runIdOf(e, name, await e.upload(name, datasetText(40, 'r1'), true));
    const a = await runIn(e, first, ['SERVING', 'TRAINING_FAILED', 'DEPLOY_FAILED']);
    expect(a.state).toBe('SERVING');

    const second = runIdOf(e, name, await e.upload(name, datasetText(40, 'r2'), true));
    expect(second).not.toBe(first);
    const b = await runIn(e, second, ['SERVING', 'TRAINING_FAILED', 'DEPLOY_FAILED']);
    expect(b.state).toBe('SERVING');
    const old = await runIn(e, first, ['SUPERSEDED']);
    expect(old.supersededBy).toBe(second);
    expect(await notification(e, first, 'SUPERSEDED')).toMatchObject({ state: 'SUPERSEDED' });

    // Exactly one live endpoint for the dataset name: the newer run's.
    const live = await waitFor(
      async () => {
        const mine = (await e.endpoints()).filter(
          (x) => x.id === a.oci.endpointId || x.id === b.oci.endpointId,
        );
        const up = mine.filter((x) => x.lifecycleState !== 'DELETED');
        return up.length === 1 ? up : undefined;
      },
      10_000,
      200,
    );
    expect(live?.map((x) => [x.id, x.lifecycleState])).toEqual([[b.oci.endpointId, 'ACTIVE']]);
  }, 150_000);

  // Late in this stack: the workflow's hosting cluster is gone afterwards.
  test('a hosting cluster deleted mid-deploy ends DEPLOY_FAILED with the reason', async () => {
    const name = 'hosting-gone.jsonl';
    const runId = runIdOf(e, name, await e.upload(name, datasetText(40, 'h')));
    const deploying = await runIn(e, runId, ['DEPLOYING', 'SERVING']);
    expect(deploying.state).toBe('DEPLOYING');
    const clusterId = e.genaiControl.clusterIdByName(hostingClusterName(1));
    expect(clusterId).toBeDefined();
    e.genaiControl.removeCluster(clusterId!);

    const run = await runIn(e, runId, ['DEPLOY_FAILED', 'SERVING']);
    expect(run.state).toBe('DEPLOY_FAILED');
    expect(run.lastError?.code).toBe('ENDPOINT_FAILED');
    expect(run.lastError?.message).toContain(`${clusterId} no longer exists`);
    expect(await notification(e, runId, 'DEPLOY_FAILED')).toMatchObject({
      state: 'DEPLOY_FAILED',
      errorCode: 'ENDPOINT_FAILED',
    });
  }, 90_000);

  // Last in this stack: the workflow's fine-tuning cluster is gone afterwards.
  test('a fine-tuning cluster deleted mid-run ends TRAINING_FAILED with the reason', async () => {
    const name = 'cluster-gone.jsonl';
    const runId = runIdOf(e, name, await e.upload(name, datasetText(40, 'c')));
    const training = await runIn(e, runId, ['TRAINING']);
    const clusterId = e.genaiControl.clusterIdByName(fineTuningCluster);
    expect(clusterId).toBeDefined();
    e.genaiControl.removeCluster(clusterId!);

    const run = await runIn(e, runId, ['TRAINING_FAILED', 'TRAINED', 'SERVING']);
    expect(run.state).toBe('TRAINING_FAILED');
    expect(run.oci.modelId).toBe(training.oci.modelId);
    expect(run.lastError?.code).toBe('MODEL_FAILED');
    expect(run.lastError?.message).toContain(`${clusterId} no longer exists`);
    expect(await notification(e, runId, 'TRAINING_FAILED')).toMatchObject({
      errorCode: 'MODEL_FAILED',
    });
  }, 90_000);
});

describe('a hosting cluster without room', () => {
  let e: E2eStack;
  beforeAll(async () => {
    e = await startE2eStack({
      hostingClusters: 1,
      genai: { modelTrainingMs: 100_000, endpointCreateMs: 30_000, endpointsPerHostingCluster: 1 },
    });
  }, 60_000);
  afterAll(async () => e?.close());

  test('is a WAITING run (HOSTING_CAPACITY) that deploys once room frees', async () => {
    const first = runIdOf(e, 'cap-a.jsonl', await e.upload('cap-a.jsonl', datasetText(40, 'a')));
    const a = await runIn(e, first, ['SERVING', 'TRAINING_FAILED', 'DEPLOY_FAILED']);
    expect(a.state).toBe('SERVING');

    const second = runIdOf(e, 'cap-b.jsonl', await e.upload('cap-b.jsonl', datasetText(40, 'b')));
    const waiting = await waitFor(
      async () => {
        const r = await e.runs.get(second);
        return r?.waitingFor !== undefined ? r : undefined;
      },
      30_000,
      200,
    );
    expect(waiting).toMatchObject({ state: 'TRAINED', waitingFor: 'HOSTING_CAPACITY' });
    expect(waiting?.history.at(-1)?.note).toMatch(/no hosting cluster has room/);
    expect(await notification(e, second, 'WAITING')).toMatchObject({ state: 'TRAINED' });

    // An operator frees room; the reconciler re-drives the deploy after the machine's first
    // back-off (redriveDelaySec(1) = 60 s of real time, even in fast mode).
    await e.genai.deleteEndpoint({ endpointId: a.oci.endpointId! });
    const b = await runIn(e, second, ['SERVING', 'DEPLOY_FAILED'], 100_000);
    expect(b.state).toBe('SERVING');
    expect(b.waitingFor).toBeUndefined();
    expect(b.history.filter((h) => h.observation === 'DEPLOYMENT_START_BLOCKED')).toHaveLength(1);
  }, 150_000);
});
