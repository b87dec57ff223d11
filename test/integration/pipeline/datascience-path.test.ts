/**
 * The Data Science (AI Quick Actions) path through the pipeline's use cases, with the real SDK on
 * the local emulator: a dataset version goes validate -> job run -> track -> model deployment ->
 * serving exactly once, answers a signed predict, and each failure ends in a clear terminal state.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { models } from 'oci-datascience';
import { observeResourceEvent, reconcile } from '#shared/pipeline/reconcile.ts';
import { deployModel, startJobRun } from '#shared/pipeline/datascience.ts';
import { startDeployment, startTraining } from '#shared/pipeline/datascience-dispatch.ts';
import { runResourceName } from '#shared/pipeline/datascience-launch.ts';
import { validateStep } from '#shared/pipeline/validate.ts';
import type { Run } from '#workflows/machine.ts';
import {
  dataset,
  eventually,
  pinnedImages,
  signedPredict,
  startDsHarness,
  type DsHarness,
} from './datascience-harness.ts';

let h: DsHarness;
beforeAll(async () => {
  h = await startDsHarness();
}, 60_000);
afterAll(async () => h?.close());

/** Reconciles until the run reaches `state` (the reconciler is what observes Data Science). */
async function reconcileUntil(runId: string, states: Run['state'][], deps = h.deps): Promise<Run> {
  return eventually(
    async () => {
      await reconcile(deps);
      const run = await h.run(runId);
      return run && states.includes(run.state) ? run : undefined;
    },
    30_000,
    100,
  );
}

const bodies = (topicId: string) =>
  h.messages(topicId).map((m) => JSON.parse(m.body) as Record<string, unknown>);

/** Waits for a message on `topicId` matching `fields` (ONS delivers asynchronously). */
const delivered = (topicId: string, fields: Record<string, unknown>) =>
  eventually(async () =>
    bodies(topicId).find((b) => Object.entries(fields).every(([k, v]) => b[k] === v)),
  );

const jobRunsOf = async (runId: string) =>
  (
    await h.datascience.listJobRuns({
      compartmentId: h.emu.compartmentId,
      displayName: runResourceName(runId),
    })
  ).items;

const deploymentsOf = async (runId: string) =>
  (
    await h.datascience.listModelDeployments({
      compartmentId: h.emu.compartmentId,
      displayName: runResourceName(runId),
    })
  ).items;

/** Validate, start, train, deploy and serve one dataset version. */
async function toServing(prefix: string, name: string, tag: string): Promise<Run> {
  const ref = await h.upload(prefix, name, dataset(20, tag));
  const { runId, state } = await validateStep(h.deps, ref);
  expect(state).toBe('VALID');
  expect((await startJobRun(h.deps, runId!)).state).toBe('TRAINING');
  await reconcileUntil(runId!, ['TRAINED']);
  expect((await deployModel(h.deps, runId!)).state).toBe('DEPLOYING');
  return reconcileUntil(runId!, ['SERVING']);
}

describe('a valid dataset', () => {
  test("runs in the workflow's own pinned images when it names them", async () => {
    const serving = await toServing('pinned/', 'pinned.jsonl', 'p');
    const { jobRun } = await h.datascience.getJobRun({ jobRunId: serving.oci.jobRunId! });
    const { job } = await h.datascience.getJob({ jobId: jobRun.jobId });
    expect(job.jobEnvironmentConfigurationDetails).toMatchObject({
      image: pinnedImages.training,
    });
    const { modelDeployment: md } = await h.datascience.getModelDeployment({
      modelDeploymentId: serving.oci.modelDeploymentId!,
    });
    expect(md.modelDeploymentConfigurationDetails).toMatchObject({
      environmentConfigurationDetails: { image: pinnedImages.serving },
    });
  });

  test('goes to SERVING through one AQUA-style job run and a model deployment that predicts', async () => {
    const ref = await h.upload('train/', 'happy.jsonl', dataset(20, 'h'));
    const validated = await validateStep(h.deps, ref);
    expect(validated.state).toBe('VALID');
    const runId = validated.runId!;
    // The fast path: a start-finetune work message naming the run (same topic as GenAI).
    await delivered(h.topics.startFinetune, { step: 'start-finetune', runId });

    // The function's dispatch picks the run's backend.
    const started = await startTraining(h.deps, runId);
    expect(started.state).toBe('TRAINING');
    const training = (await h.run(runId))!;
    expect(training.oci.jobRunId).toMatch(/^ocid1\.datasciencejobrun\./);
    expect(training.oci.modelId).toMatch(/^ocid1\.datasciencemodel\./);

    // What OCI was asked for: AQUA's env variables, the job's container and infrastructure.
    const { jobRun } = await h.datascience.getJobRun({ jobRunId: training.oci.jobRunId! });
    expect(jobRun.displayName).toBe(runResourceName(runId));
    expect(jobRun.freeformTags).toMatchObject({ dacflowRunId: runId, dacflowWorkflow: 'aqua' });
    const env = (jobRun.jobConfigurationOverrideDetails as models.DefaultJobConfigurationDetails)
      .environmentVariables!;
    expect(JSON.parse(env.AIP_SMC_FT_ARGUMENTS!)).toEqual({
      baseModel: { type: 'modelCatalog', modelId: h.baseModelId },
      outputModel: { type: 'modelCatalog', modelId: training.oci.modelId },
    });
    expect(env.OCI__LAUNCH_CMD).toBe(
      `--training_data oci://datasets@${h.namespace}/train/happy.jsonl` +
        ` --output_dir oci://models@${h.namespace}/aqua/${runId}/` +
        ' --val_set_size 0.1 --num_epochs 2 --learning_rate 0.0002 --micro_batch_size 4' +
        ' --lora_r 32 --lora_alpha 16 --lora_dropout 0.05',
    );
    // The output model names its training job run, as AQUA records it.
    const provenance = await h.datascience.getModelProvenance({ modelId: training.oci.modelId! });
    expect(provenance.modelProvenance.trainingId).toBe(training.oci.jobRunId);
    const { job } = await h.datascience.getJob({ jobId: jobRun.jobId });
    expect(job.jobInfrastructureConfigurationDetails).toMatchObject({
      jobInfrastructureType: 'ME_STANDALONE',
      shapeName: 'VM.GPU.A10.2',
      blockStorageSizeInGBs: 256,
    });
    expect(job.jobEnvironmentConfigurationDetails).toMatchObject({
      jobEnvironmentType: 'OCIR_CONTAINER',
      image: 'dsmc://odsc-llm-fine-tuning:latest',
    });

    const trained = await reconcileUntil(runId, ['TRAINED']);
    expect(h.dsControl.modelHasArtifact(trained.oci.modelId!)).toBe(true);
    await delivered(h.topics.deployEndpoint, { step: 'deploy-endpoint', runId });

    expect((await startDeployment(h.deps, runId)).state).toBe('DEPLOYING');
    expect(await startDeployment(h.deps, runId)).toMatchObject({ ignored: 'run is DEPLOYING' });
    const serving = await reconcileUntil(runId, ['SERVING']);
    const deployments = await deploymentsOf(runId);
    expect(deployments.map((d) => d.id)).toEqual([serving.oci.modelDeploymentId]);
    const { modelDeployment: md } = await h.datascience.getModelDeployment({
      modelDeploymentId: serving.oci.modelDeploymentId!,
    });
    expect(md.modelDeploymentConfigurationDetails).toMatchObject({
      deploymentType: 'SINGLE_MODEL',
      modelConfigurationDetails: {
        modelId: trained.oci.modelId,
        instanceConfiguration: { instanceShapeName: 'VM.GPU.A10.1' },
        scalingPolicy: { policyType: 'FIXED_SIZE', instanceCount: 1 },
        bandwidthMbps: 10,
      },
      environmentConfigurationDetails: { image: 'dsmc://odsc-vllm-serving:latest' },
    });

    // The SERVING notification says where and how to call it; the sample call works as given.
    const servingNote = (await delivered(h.topics.pipeline, { runId, event: 'SERVING' })) as {
      ids: Record<string, string>;
    };
    expect(servingNote.ids.predictUrl).toBe(`${md.modelDeploymentUrl}/predict`);
    const res = await signedPredict(
      h.provider,
      servingNote.ids.predictUrl!,
      JSON.parse(servingNote.ids.predictBody!),
    );
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { choices: { text: string }[] };
    expect(answer.choices[0]?.text).toMatch(/^Emulated reply to: Hello/);

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
    ).not.toContain('question h');
  }, 60_000);

  test('duplicate work messages start exactly one job run and one output model', async () => {
    const ref = await h.upload('train/', 'dup.jsonl', dataset(20, 'd'));
    const { runId } = await validateStep(h.deps, ref);
    const results = await Promise.all([
      startJobRun(h.deps, runId!),
      startJobRun(h.deps, runId!),
      startJobRun(h.deps, runId!),
    ]);
    expect(results.filter((r) => r.ignored === undefined)).toHaveLength(1);
    expect(await startJobRun(h.deps, runId!)).toMatchObject({ ignored: 'run is TRAINING' });
    const runs = await jobRunsOf(runId!);
    expect(runs).toHaveLength(1);
    expect((await h.run(runId!))?.oci.jobRunId).toBe(runs[0]?.id);
    const outputModels = await h.datascience.listModels({
      compartmentId: h.emu.compartmentId,
      displayName: runResourceName(runId!),
    });
    expect(outputModels.items).toHaveLength(1);
    // Both runs of the workflow share its one fine-tuning job.
    const jobs = await h.datascience.listJobs({
      compartmentId: h.emu.compartmentId,
      projectId: h.projectId,
    });
    expect(jobs.items.filter((j) => j.freeformTags?.dacflowWorkflow === 'aqua')).toHaveLength(1);
  }, 60_000);
});

describe('Data Science events', () => {
  test('a job-run or deployment event observes its run at once; others change nothing', async () => {
    const ref = await h.upload('train/', 'evented.jsonl', dataset(20, 'e'));
    const { runId } = await validateStep(h.deps, ref);
    await startJobRun(h.deps, runId!);
    const training = (await h.run(runId!))!;
    const jobRunId = training.oci.jobRunId!;

    // Not dacflow's, not this run's resource, or a run that waits on something else: ignored.
    expect(await observeResourceEvent(h.deps, { resourceId: jobRunId, runId: undefined })).toEqual({
      ignored: expect.stringContaining('no dacflowRunId tag'),
    });
    expect(
      await observeResourceEvent(h.deps, { resourceId: 'ocid1.datasciencejobrun.oc1..x', runId }),
    ).toMatchObject({ runId, state: 'TRAINING', ignored: expect.stringContaining('not waiting') });
    expect(
      await observeResourceEvent(h.deps, { resourceId: jobRunId, runId: 'r-missing' }),
    ).toMatchObject({ ignored: 'no such run' });

    // The job run ends: its event moves the run on without a reconcile pass.
    h.dsControl.forceJobRunState(jobRunId, 'SUCCEEDED');
    expect(await observeResourceEvent(h.deps, { resourceId: jobRunId, runId })).toMatchObject({
      runId,
      state: 'TRAINED',
    });
    // A duplicate of the same event: the run has moved on, nothing happens twice.
    expect(await observeResourceEvent(h.deps, { resourceId: jobRunId, runId })).toMatchObject({
      state: 'TRAINED',
      ignored: expect.stringContaining('not waiting'),
    });

    await deployModel(h.deps, runId!);
    const deploying = (await h.run(runId!))!;
    const mdId = deploying.oci.modelDeploymentId!;
    h.dsControl.forceDeploymentState(mdId, 'ACTIVE');
    expect(await observeResourceEvent(h.deps, { resourceId: mdId, runId })).toMatchObject({
      runId,
      state: 'SERVING',
    });
  }, 60_000);
});

describe('failures end in a clear terminal state', () => {
  test('the workflow’s Llama 2 template check applies: plain prompts are INVALID', async () => {
    const plain = await h.upload('chat/', 'plain.jsonl', dataset(20, 'c'));
    const bad = await validateStep(h.deps, plain);
    expect(bad.state).toBe('INVALID');
    const report = await h.objects.getObject({
      namespaceName: h.namespace,
      bucketName: 'datasets',
      objectName: bad.reportObject!,
    });
    const stored = JSON.parse(await new Response(report.value as ReadableStream).text());
    // Every line misses the template, which leaves fewer than minExamples valid examples.
    expect(stored.report.errorCounts).toEqual({ TEMPLATE_MISMATCH: 20, TOO_FEW_EXAMPLES: 1 });

    const templated = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({ prompt: `<s>[INST] question ${i}? [/INST]`, completion: `answer ${i}.` }),
    ).join('\n');
    const good = await h.upload('chat/', 'templated.jsonl', templated + '\n');
    expect((await validateStep(h.deps, good)).state).toBe('VALID');
  }, 60_000);

  test('a FAILED job run ends TRAINING_FAILED with OCI’s reason', async () => {
    const ref = await h.upload('train/', 'FAIL_TRAINING.jsonl', dataset(20, 'f'));
    const { runId } = await validateStep(h.deps, ref);
    expect((await startJobRun(h.deps, runId!)).state).toBe('TRAINING');
    const failed = await reconcileUntil(runId!, ['TRAINING_FAILED']);
    expect(failed.lastError?.code).toBe('JOB_RUN_FAILED');
    expect(failed.lastError?.message).toContain('FAIL_TRAINING');
    await delivered(h.topics.pipeline, {
      runId,
      event: 'TRAINING_FAILED',
      errorCode: 'JOB_RUN_FAILED',
    });
  }, 60_000);

  test('a results bucket without versioning fails at once, for good, creating nothing', async () => {
    const ref = await h.upload('nover/', 'data.jsonl', dataset(20, 'n'));
    const { runId } = await validateStep(h.deps, ref);
    const r = await startJobRun(h.deps, runId!);
    expect(r.state).toBe('TRAINING_FAILED');
    const run = (await h.run(runId!))!;
    expect(run.lastError?.code).toBe('OUTPUT_BUCKET_NOT_VERSIONED');
    expect(run.lastError?.message).toContain('models-nover');
    expect(run.failures.train).toBe(1);
    expect(await jobRunsOf(runId!)).toHaveLength(0);
  }, 60_000);

  test('a job run waiting on the operator holds the run, then training continues', async () => {
    const ref = await h.upload('train/', 'attention.jsonl', dataset(20, 'w'));
    const { runId } = await validateStep(h.deps, ref);
    await startJobRun(h.deps, runId!);
    const jobRunId = (await h.run(runId!))!.oci.jobRunId!;
    h.dsControl.forceJobRunState(jobRunId, 'NEEDS_ATTENTION', 'shape out of capacity');
    await reconcile(h.deps);
    const waiting = (await h.run(runId!))!;
    expect(waiting.state).toBe('TRAINING');
    expect(waiting.waitingFor).toBe('OPERATOR_ATTENTION');
    expect(waiting.lastError).toEqual({
      code: 'NEEDS_ATTENTION',
      message: 'shape out of capacity',
    });
    h.dsControl.forceJobRunState(jobRunId, 'SUCCEEDED');
    const trained = await reconcileUntil(runId!, ['TRAINED']);
    expect(trained.waitingFor).toBeUndefined();
  }, 60_000);
});

describe('repair and supersede', () => {
  test('a job run whose create answer was lost is adopted by the next attempt, not duplicated', async () => {
    const ref = await h.upload('train/', 'lost-answer.jsonl', dataset(20, 'q'));
    const { runId } = await validateStep(h.deps, ref);
    // The create lands in OCI, then the answer is lost (a 503 after commit, as OciError has it).
    const real = h.deps.datascience!;
    const lossy = {
      ...h.deps,
      // The real client with one method replaced (its prototype chain keeps every other call real).
      datascience: Object.assign(Object.create(real) as typeof real, {
        createJobRun: async (req: Parameters<typeof real.createJobRun>[0]) => {
          await real.createJobRun(req);
          throw Object.assign(new Error('service unavailable'), {
            statusCode: 503,
            serviceCode: 'ServiceUnavailable',
          });
        },
      }),
    };
    const first = await startJobRun(lossy, runId!);
    expect(first.state).toBe('VALID');
    const retrying = (await h.run(runId!))!;
    expect(retrying.attempts.train).toBe(1);
    expect(retrying.lastError?.code).toBe('ServiceUnavailable');
    const [created] = await jobRunsOf(runId!);

    expect((await startJobRun(h.deps, runId!)).state).toBe('TRAINING');
    const run = (await h.run(runId!))!;
    expect(run.oci.jobRunId).toBe(created?.id);
    expect(await jobRunsOf(runId!)).toHaveLength(1);
  }, 60_000);

  test('a run still training when a newer one serves is superseded and its job run cancelled', async () => {
    const slow = await h.upload('train/', 'race.jsonl', dataset(20, 's1'));
    const a = (await validateStep(h.deps, slow)).runId!;
    await startJobRun(h.deps, a);
    const jobRunId = (await h.run(a))!.oci.jobRunId!;
    // Hold the older run in training while the newer version goes all the way.
    h.dsControl.forceJobRunState(jobRunId, 'IN_PROGRESS');
    const b = await toServing('train/', 'race.jsonl', 's2');
    const ended = await reconcileUntil(a, ['SUPERSEDED']);
    expect(ended.supersededBy).toBe(b.runId);
    const { jobRun } = await h.datascience.getJobRun({ jobRunId });
    expect(['CANCELING', 'CANCELED']).toContain(jobRun.lifecycleState);
  }, 60_000);

  test('a run whose start-finetune message was lost is started by the reconciler', async () => {
    const ref = await h.upload('train/', 'lost-work.jsonl', dataset(20, 'l'));
    const { runId } = await validateStep(h.deps, ref);
    // The work message was published but never delivered: nothing ran startJobRun. The re-drive
    // waits out the grace period, so look at the run as the reconciler will after it.
    const valid = (await h.run(runId!))!;
    const later = new Date(Date.parse(valid.updatedAt) + 301_000);
    const summary = await reconcile({ ...h.deps, now: () => later });
    expect(summary.redriven).toBeGreaterThanOrEqual(1);
    const run = (await h.run(runId!))!;
    expect(run.state).toBe('TRAINING');
    expect(await jobRunsOf(runId!)).toHaveLength(1);
  }, 60_000);

  test('a lost deploy-endpoint message is re-driven, adopting nothing twice', async () => {
    const ref = await h.upload('train/', 'lost-deploy.jsonl', dataset(20, 'k'));
    const { runId } = await validateStep(h.deps, ref);
    await startJobRun(h.deps, runId!);
    const trained = await reconcileUntil(runId!, ['TRAINED']);
    // The reconciler's clock after the grace period (the run's updatedAt moves with it).
    const skewMs = Date.parse(trained.updatedAt) + 301_000 - Date.now();
    const later = { ...h.deps, now: () => new Date(Date.now() + skewMs) };
    await reconcile(later);
    expect((await h.run(runId!))?.state).toBe('DEPLOYING');
    // A late delivery of the lost message changes nothing.
    expect(await deployModel(h.deps, runId!)).toMatchObject({ ignored: 'run is DEPLOYING' });
    await reconcileUntil(runId!, ['SERVING'], later);
    expect(await deploymentsOf(runId!)).toHaveLength(1);
  }, 60_000);

  test('a re-upload supersedes the older run once it serves and deletes its deployment', async () => {
    const a = await toServing('train/', 'reup.jsonl', 'r1');
    const b = await toServing('train/', 'reup.jsonl', 'r2');
    expect(b.runId).not.toBe(a.runId);
    const ended = await reconcileUntil(a.runId, ['SUPERSEDED']);
    expect(ended.supersededBy).toBe(b.runId);
    const old = await h.datascience.getModelDeployment({
      modelDeploymentId: a.oci.modelDeploymentId!,
    });
    expect(['DELETING', 'DELETED']).toContain(old.modelDeployment.lifecycleState);
    const current = await h.datascience.getModelDeployment({
      modelDeploymentId: b.oci.modelDeploymentId!,
    });
    expect(current.modelDeployment.lifecycleState).toBe('ACTIVE');
  }, 90_000);
});
