/**
 * How the Data Science path ends when a run cannot succeed, through the real functions on the
 * local stack: each failure is a clear terminal state with the reason in `lastError`, a
 * TRAINING_FAILED notification on the pipeline topic, and nothing created that a retry would
 * have to clean up.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Run, RunState } from '#workflows/machine.ts';
import {
  bucket,
  datasetText,
  noVersioningPrefix,
  prefix,
  startDsE2eStack,
  unversionedResultsBucket,
  waitFor,
  type DsE2eStack,
} from './datascience-stack.ts';

let e: DsE2eStack;
beforeAll(async () => {
  e = await startDsE2eStack();
}, 60_000);
afterAll(async () => e?.close());

async function runIn(runId: string, states: readonly RunState[], timeoutMs = 30_000): Promise<Run> {
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

const named = (runId: string) => `dacflow-${runId}`;
const terminal: RunState[] = ['TRAINING_FAILED', 'DEPLOY_FAILED', 'SERVING'];

describe('the Data Science path through the functions', () => {
  test('a job run that FAILs ends TRAINING_FAILED with its lifecycle details', async () => {
    const name = 'FAIL_TRAINING-a.jsonl';
    const runId = e.runIdOf(name, await e.upload(name, datasetText(20, 'f')));
    const run = await runIn(runId, terminal);
    expect(run.state).toBe('TRAINING_FAILED');
    expect(run.lastError?.code).toBe('JOB_RUN_FAILED');
    expect(run.lastError?.message).toContain('training data path contains FAIL_TRAINING');
    expect(await e.notification(runId, 'TRAINING_FAILED')).toMatchObject({
      state: 'TRAINING_FAILED',
      errorCode: 'JOB_RUN_FAILED',
    });
    // One job run, FAILED, and it was not retried; nothing was deployed.
    const jobRuns = (await e.jobRuns()).filter((j) => j.displayName === named(runId));
    expect(jobRuns.map((j) => [j.id, j.lifecycleState])).toEqual([[run.oci.jobRunId, 'FAILED']]);
    expect((await e.deployments()).filter((d) => d.displayName === named(runId))).toEqual([]);
  }, 60_000);

  test('a results bucket without versioning ends TRAINING_FAILED before anything is created', async () => {
    // Versioning cannot go back to Disabled once Enabled; Suspended is what an operator can do.
    await e.objects.updateBucket({
      namespaceName: e.namespace,
      bucketName: unversionedResultsBucket,
      updateBucketDetails: { versioning: 'Suspended' as never },
    });
    const name = 'no-versioning.jsonl';
    const runId = e.runIdOf(
      name,
      await e.upload(name, datasetText(20, 'v'), noVersioningPrefix),
      noVersioningPrefix,
    );
    const run = await runIn(runId, terminal);
    expect(run.state).toBe('TRAINING_FAILED');
    expect(run.lastError?.code).toBe('OUTPUT_BUCKET_NOT_VERSIONED');
    expect(run.lastError?.message).toContain(`results bucket ${unversionedResultsBucket}`);
    expect(run.lastError?.message).toContain('Suspended');
    expect(await e.notification(runId, 'TRAINING_FAILED')).toMatchObject({
      errorCode: 'OUTPUT_BUCKET_NOT_VERSIONED',
    });
    // Checked first: no job run and no output model for this run.
    expect(run.oci.jobRunId).toBeUndefined();
    expect((await e.jobRuns()).filter((j) => j.displayName === named(runId))).toEqual([]);
    expect((await e.models()).filter((m) => m.displayName === named(runId))).toEqual([]);
  }, 60_000);

  test('a dataset deleted before training ends TRAINING_FAILED when its job run cannot read it', async () => {
    // Hold start-finetune so the delete lands between validation and the job run.
    const release = e.hold('start-finetune', '');
    try {
      const name = 'deleted-before-training.jsonl';
      const runId = e.runIdOf(name, await e.upload(name, datasetText(20, 'd')));
      await runIn(runId, ['VALID']);
      await e.objects.deleteObject({
        namespaceName: e.namespace,
        bucketName: bucket,
        objectName: `${prefix}${name}`,
      });
      release();
      const run = await runIn(runId, terminal);
      expect(run.state).toBe('TRAINING_FAILED');
      expect(run.lastError?.code).toBe('JOB_RUN_FAILED');
      expect(run.lastError?.message).toContain(`${prefix}${name} was not found`);
      expect(await e.notification(runId, 'TRAINING_FAILED')).toMatchObject({
        errorCode: 'JOB_RUN_FAILED',
      });
      const jobRuns = (await e.jobRuns()).filter((j) => j.displayName === named(runId));
      expect(jobRuns.map((j) => j.lifecycleState)).toEqual(['FAILED']);
    } finally {
      release();
    }
  }, 60_000);

  test('a good dataset alongside them still serves and answers predict', async () => {
    const name = 'good.jsonl';
    const runId = e.runIdOf(name, await e.upload(name, datasetText(20, 'g')));
    const run = await runIn(runId, terminal);
    expect(run.state).toBe('SERVING');
    const { modelDeployment } = await e.datascience.getModelDeployment({
      modelDeploymentId: run.oci.modelDeploymentId!,
    });
    expect(modelDeployment.lifecycleState).toBe('ACTIVE');
    const serving = await e.notification(runId, 'SERVING');
    expect(serving.ids).toMatchObject({
      modelDeploymentId: run.oci.modelDeploymentId,
      predictUrl: `${modelDeployment.modelDeploymentUrl}/predict`,
    });
  }, 60_000);
});
