/**
 * The GenAI path through the pipeline's use cases, with the real SDK on the local emulator: a
 * dataset version goes validate -> fine-tune -> track -> deploy -> serving exactly once, and each
 * failure ends in a clear terminal state with a notification.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { reconcile } from '#shared/pipeline/reconcile.ts';
import {
  deployEndpoint,
  endpointDisplayName,
  modelDisplayName,
  startFinetune,
} from '#shared/pipeline/genai.ts';
import { reportObjectName, validateStep } from '#shared/pipeline/validate.ts';
import { createRun, runInputFor, VALIDATION_STALE_SEC, type Run } from '#workflows/machine.ts';
import { advance } from '#shared/pipeline/advance.ts';
import { dataset, eventually, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
}, 60_000);
afterAll(async () => h?.close());

/** Reconciles until the run reaches `state` (the reconciler is what observes GenAI). */
async function reconcileUntil(runId: string, states: Run['state'][]): Promise<Run> {
  return eventually(
    async () => {
      await reconcile(h.deps);
      const run = await h.run(runId);
      return run && states.includes(run.state) ? run : undefined;
    },
    30_000,
    200,
  );
}

const bodies = (topicId: string) =>
  h.messages(topicId).map((m) => JSON.parse(m.body) as Record<string, unknown>);

describe('a valid dataset', () => {
  test('goes to SERVING with exactly one model and one endpoint, and people are told', async () => {
    const ref = await h.upload('happy.jsonl', dataset(40));
    const validated = await validateStep(h.deps, ref);
    expect(validated.state).toBe('VALID');
    const runId = validated.runId!;

    // The report sits next to the dataset, under dacflow's reserved prefix.
    const report = await h.objects.getObject({
      namespaceName: h.namespace,
      bucketName: 'datasets',
      objectName: reportObjectName(ref.object),
    });
    const stored = JSON.parse(await new Response(report.value as ReadableStream).text());
    expect(stored).toMatchObject({
      runId,
      report: { valid: true, exampleCount: 40, errorCount: 0 },
    });

    // The fast path to start-finetune is a work message naming the run.
    expect(bodies(h.topics.startFinetune)).toContainEqual(
      expect.objectContaining({ step: 'start-finetune', runId }),
    );

    expect((await startFinetune(h.deps, runId)).state).toBe('TRAINING');
    // A redelivered work message changes nothing and creates nothing.
    expect(await startFinetune(h.deps, runId)).toMatchObject({ ignored: 'run is TRAINING' });

    const trained = await reconcileUntil(runId, ['TRAINED']);
    expect(trained.oci.modelId).toBeDefined();
    expect(bodies(h.topics.deployEndpoint)).toContainEqual(
      expect.objectContaining({ step: 'deploy-endpoint', runId }),
    );

    expect((await deployEndpoint(h.deps, runId)).state).toBe('DEPLOYING');
    expect(await deployEndpoint(h.deps, runId)).toMatchObject({ ignored: 'run is DEPLOYING' });
    const serving = await reconcileUntil(runId, ['SERVING']);

    const models = await h.genai.listModels({
      compartmentId: h.emu.compartmentId,
      displayName: modelDisplayName(runId),
    });
    expect(models.modelCollection.items).toHaveLength(1);
    const endpoints = await h.genai.listEndpoints({
      compartmentId: h.emu.compartmentId,
      displayName: endpointDisplayName(runId),
    });
    expect(endpoints.endpointCollection.items.map((e) => e.id)).toEqual([serving.oci.endpointId]);

    const events = bodies(h.topics.pipeline)
      .filter((b) => b.runId === runId)
      .map((b) => b.event);
    expect(events).toEqual(expect.arrayContaining(['TRAINING_STARTED', 'TRAINED', 'SERVING']));
    // Notifications carry ids and counts, never dataset text.
    expect(
      h
        .messages(h.topics.pipeline)
        .map((m) => m.body)
        .join('\n'),
    ).not.toContain('question a');
  }, 90_000);

  test('a duplicate event delivery maps to the same run and validates once', async () => {
    const ref = await h.upload('dup.jsonl', dataset(40, 'd'));
    const [a, b] = await Promise.all([validateStep(h.deps, ref), validateStep(h.deps, ref)]);
    expect(a.runId).toBe(b.runId);
    const run = await h.run(a.runId!);
    expect(run?.state).toBe('VALID');
    expect(run?.history.filter((e) => e.to === 'VALID')).toHaveLength(1);
  }, 60_000);
});

describe('one validation at a time', () => {
  async function validatingRun(name: string) {
    const ref = await h.upload(name, dataset(40, name));
    const workflow = h.deps.workflows[0]!;
    const { run } = await h.deps.runs.createIfAbsent(
      createRun(runInputFor(workflow, ref), new Date()).run,
    );
    await advance(h.deps, run.runId, { type: 'VALIDATION_STARTED' });
    return { ref, runId: run.runId };
  }

  test('a delivery that finds another call validating steps aside without reading the dataset', async () => {
    const { ref, runId } = await validatingRun('busy.jsonl');
    const r = await validateStep(h.deps, ref);
    expect(r).toMatchObject({ runId, state: 'VALIDATING', ignored: 'another call is validating' });
    expect((await h.run(runId))?.state).toBe('VALIDATING');
  }, 60_000);

  test('a validation stale past VALIDATION_STALE_SEC is taken over and finished', async () => {
    const { ref, runId } = await validatingRun('stale.jsonl');
    const later = {
      ...h.deps,
      now: () => new Date(Date.now() + (VALIDATION_STALE_SEC + 1) * 1000),
    };
    expect(await validateStep(later, ref)).toMatchObject({ runId, state: 'VALID' });
  }, 60_000);
});

describe('failures end in a clear terminal state', () => {
  test('an invalid dataset is INVALID, with the findings in the report and no model', async () => {
    const ref = await h.upload('bad.jsonl', dataset(40) + '{"prompt": 3}\nnot json\n');
    const r = await validateStep(h.deps, ref);
    expect(r.state).toBe('INVALID');
    const report = await h.objects.getObject({
      namespaceName: h.namespace,
      bucketName: 'datasets',
      objectName: r.reportObject!,
    });
    const stored = JSON.parse(await new Response(report.value as ReadableStream).text());
    // Line 41 has a number for a prompt and no completion; line 42 is not JSON.
    expect(stored.report.errorCounts).toEqual({ INVALID_JSON: 1, WRONG_TYPE: 1, MISSING_FIELD: 1 });
    expect(stored.report.errors.map((e: { line: number }) => e.line)).toEqual([41, 41, 42]);
    // The run's summary counts lines, not findings: two of the 42 lines are bad.
    expect((await h.run(r.runId!))?.validation).toEqual({
      lines: 42,
      validExamples: 40,
      invalidLines: 2,
    });
    expect(await startFinetune(h.deps, r.runId!)).toMatchObject({ ignored: 'run is INVALID' });
    expect(bodies(h.topics.pipeline)).toContainEqual(
      expect.objectContaining({ runId: r.runId, event: 'DATASET_INVALID' }),
    );
  }, 60_000);

  test('a model that FAILs ends the run TRAINING_FAILED with OCI’s reason', async () => {
    const ref = await h.upload('FAIL_TRAINING.jsonl', dataset(40, 'f'));
    const { runId } = await validateStep(h.deps, ref);
    await startFinetune(h.deps, runId!);
    const failed = await reconcileUntil(runId!, ['TRAINING_FAILED']);
    expect(failed.lastError?.code).toBe('MODEL_FAILED');
    expect(failed.lastError?.message.length).toBeGreaterThan(0);
    expect(bodies(h.topics.pipeline)).toContainEqual(
      expect.objectContaining({ runId, event: 'TRAINING_FAILED' }),
    );
  }, 60_000);

  test('a dataset deleted before training ends TRAINING_FAILED, not retried forever', async () => {
    const ref = await h.upload('gone.jsonl', dataset(40, 'g'));
    const { runId } = await validateStep(h.deps, ref);
    await h.objects.deleteObject({
      namespaceName: h.namespace,
      bucketName: 'datasets',
      objectName: ref.object,
    });
    const r = await startFinetune(h.deps, runId!);
    expect(r.state).toBe('TRAINING_FAILED');
    expect((await h.run(runId!))?.lastError?.code).toBe('NotAuthorizedOrNotFound');
  }, 60_000);

  test('a dataset deleted between event and read ends the run with DATASET_MISSING', async () => {
    const ref = await h.upload('vanished.jsonl', dataset(40, 'v'));
    await h.objects.deleteObject({
      namespaceName: h.namespace,
      bucketName: 'datasets',
      objectName: ref.object,
    });
    const r = await validateStep(h.deps, ref);
    expect(r.state).toBe('INVALID');
    expect((await h.run(r.runId!))?.lastError?.code).toBe('DATASET_MISSING');
  }, 60_000);
});

describe('repair and supersede', () => {
  test('the reconciler re-drives validation for a dataset whose event was lost', async () => {
    const ref = await h.upload('lost-event.jsonl', dataset(40, 'l'));
    const before = bodies(h.topics.validateDataset).length;
    const summary = await reconcile(h.deps);
    expect(summary.repairedEvents).toBeGreaterThanOrEqual(1);
    const sent = bodies(h.topics.validateDataset).slice(before);
    expect(sent).toContainEqual(
      expect.objectContaining({ step: 'validate-dataset', dataset: ref }),
    );
  }, 60_000);

  test('a re-upload supersedes the older run once it serves, retiring the older endpoint', async () => {
    const first = await h.upload('reup.jsonl', dataset(40, 'r1'));
    const a = (await validateStep(h.deps, first)).runId!;
    await startFinetune(h.deps, a);
    await reconcileUntil(a, ['TRAINED']);
    await deployEndpoint(h.deps, a);
    const servingA = await reconcileUntil(a, ['SERVING']);

    const second = await h.upload('reup.jsonl', dataset(40, 'r2'));
    const b = (await validateStep(h.deps, second)).runId!;
    expect(b).not.toBe(a);
    await startFinetune(h.deps, b);
    await reconcileUntil(b, ['TRAINED']);
    await deployEndpoint(h.deps, b);
    await reconcileUntil(b, ['SERVING']);
    const ended = await reconcileUntil(a, ['SUPERSEDED']);
    expect(ended.supersededBy).toBe(b);

    const old = await h.genai.getEndpoint({ endpointId: servingA.oci.endpointId! });
    expect(['DELETING', 'DELETED']).toContain(old.endpoint.lifecycleState);
  }, 120_000);
});
