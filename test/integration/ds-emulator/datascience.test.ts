/**
 * The Data Science API of the local emulator driven through the real DataScienceClient (signed
 * requests, SDK serialization, SDK waiters), as AI Quick Actions fine-tunes and serves a model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as common from 'oci-common';
import { DataScienceClient, models } from 'oci-datascience';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ociError,
  signedPredict,
  sseData,
  startHarness,
  waiterConfig,
  type Harness,
} from './helpers.ts';

const RunState = models.JobRunLifecycleState;
const MdState = models.ModelDeploymentLifecycleState;

describe('Data Science emulator through the real SDK', () => {
  let h: Harness;
  let dir: string;
  let projectId: string;
  let jobId: string;
  let compartmentId: string;

  const ftEnv = (outputModelId: string, trainingData: string) => ({
    AIP_SMC_FT_ARGUMENTS: JSON.stringify({
      baseModel: { type: 'modelCatalog', modelId: 'ocid1.datasciencemodel.oc1..base' },
      outputModel: { type: 'modelCatalog', modelId: outputModelId },
    }),
    OCI__LAUNCH_CMD: `--training_data ${trainingData} --output_dir oci://results@ns/out --val_set_size 0.1 --num_epochs 3 --learning_rate 0.0002 --lora_r 32`,
    CONDA_BUCKET_NS: 'ns',
  });

  const newOutputModel = async (displayName: string) =>
    (
      await h.client.createModel({
        createModelDetails: {
          compartmentId,
          projectId,
          displayName,
          customMetadataList: [
            { key: 'base_model', value: 'meta-llama/Meta-Llama-3-8B', category: 'Other' },
          ],
          freeformTags: { aqua_finetuned_model: 'true' },
        },
      })
    ).model;

  const runDetails = (
    over: Partial<models.CreateJobRunDetails> = {},
    env: Record<string, string> = {},
  ): models.CreateJobRunDetails => ({
    projectId,
    compartmentId,
    jobId,
    displayName: 'run',
    jobConfigurationOverrideDetails: {
      jobType: 'DEFAULT',
      environmentVariables: env,
    } as models.DefaultJobConfigurationDetails,
    ...over,
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dacflow-ds-'));
    h = await startHarness(dir);
    compartmentId = h.emu.compartmentId;
    const project = await h.client.createProject({
      createProjectDetails: { compartmentId, displayName: 'aqua', freeformTags: { team: 'ml' } },
    });
    projectId = project.project.id;
    const job = await h.client.createJob({
      createJobDetails: {
        projectId,
        compartmentId,
        displayName: 'fine-tune llama',
        jobConfigurationDetails: {
          jobType: 'DEFAULT',
          environmentVariables: { CONDA_BUCKET_NS: 'ns', replica: '1' },
          maximumRuntimeInMinutes: 600,
        } as models.DefaultJobConfigurationDetails,
        jobInfrastructureConfigurationDetails: {
          jobInfrastructureType: 'ME_STANDALONE',
          shapeName: 'VM.GPU.A10.2',
          blockStorageSizeInGBs: 256,
        } as models.ManagedEgressStandaloneJobInfrastructureConfigurationDetails,
        jobEnvironmentConfigurationDetails: {
          jobEnvironmentType: 'OCIR_CONTAINER',
          image: 'dsmc://odsc-llm-fine-tuning:1.1.37',
          cmd: [],
        } as models.OcirContainerJobEnvironmentConfigurationDetails,
        freeformTags: { aqua: 'ft' },
      },
    });
    jobId = job.job.id;
  });

  afterAll(async () => {
    await h.emu.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates, gets and lists projects and jobs with their configuration', async () => {
    const p = await h.client.getProject({ projectId });
    expect(p.project).toMatchObject({
      displayName: 'aqua',
      lifecycleState: 'ACTIVE',
      freeformTags: { team: 'ml' },
    });
    expect(p.project.createdBy).toMatch(/^ocid1\.user\./);
    expect(p.etag).toBeTruthy();
    const projects = await h.client.listProjects({ compartmentId });
    expect(projects.items.map((x) => x.id)).toContain(projectId);

    const j = await h.client.getJob({ jobId });
    expect(j.job.lifecycleState).toBe(models.JobLifecycleState.Active);
    expect(j.job.jobInfrastructureConfigurationDetails).toMatchObject({
      jobInfrastructureType: 'ME_STANDALONE',
      shapeName: 'VM.GPU.A10.2',
      blockStorageSizeInGBs: 256,
    });
    expect(j.job.jobEnvironmentConfigurationDetails).toMatchObject({
      image: 'dsmc://odsc-llm-fine-tuning:1.1.37',
    });
    const jobs = await h.client.listJobs({
      compartmentId,
      projectId,
      displayName: 'fine-tune llama',
    });
    expect(jobs.items.map((x) => x.id)).toEqual([jobId]);

    const bad = await ociError(
      h.client.createJob({
        createJobDetails: {
          projectId,
          compartmentId,
          jobInfrastructureConfigurationDetails: {
            jobInfrastructureType: 'STANDALONE',
            shapeName: 'VM.GPU.A10.1',
            blockStorageSizeInGBs: 256,
          } as models.StandaloneJobInfrastructureConfigurationDetails,
        },
      }),
    );
    expect(bad).toMatchObject({ status: 400, code: 'InvalidParameter' });
    expect(bad.message).toContain('subnetId');
  });

  it('runs a fine-tuning job run to SUCCEEDED and gives the output model its artifact', async () => {
    const out = await newOutputModel('llama-ft');
    expect(out.lifecycleState).toBe(models.ModelLifecycleState.Active);
    const created = await h.client.createJobRun({
      createJobRunDetails: runDetails(
        { displayName: 'ft-ok', freeformTags: { dataset: 'd1' } },
        ftEnv(out.id, 'oci://datasets@ns/train.jsonl'),
      ),
    });
    expect(created.jobRun.lifecycleState).toBe(RunState.Accepted);
    expect(created.jobRun.jobInfrastructureConfigurationDetails).toMatchObject({
      shapeName: 'VM.GPU.A10.2',
    });
    // No artifact until the run has finished.
    const before = await ociError(h.client.headModelArtifact({ modelId: out.id }));
    expect(before.status).toBe(404);

    const done = await h.client
      .createWaiters(waiterConfig)
      .forJobRun({ jobRunId: created.jobRun.id }, RunState.Succeeded, RunState.Failed);
    expect(done?.jobRun.lifecycleState).toBe(RunState.Succeeded);
    expect(done?.jobRun.timeStarted).toBeTruthy();
    expect(done?.jobRun.timeFinished).toBeTruthy();
    expect(done?.jobRun.freeformTags).toEqual({ dataset: 'd1' });
    const head = await h.client.headModelArtifact({ modelId: out.id });
    expect(Number(head.contentLength)).toBeGreaterThan(0);
    expect(h.ds.control.modelHasArtifact(out.id)).toBe(true);
  });

  it('fails a run whose training data path carries the failure marker', async () => {
    const out = await newOutputModel('llama-ft-bad');
    const created = await h.client.createJobRun({
      createJobRunDetails: runDetails(
        { displayName: 'ft-bad' },
        ftEnv(out.id, 'oci://datasets@ns/FAIL_TRAINING/train.jsonl'),
      ),
    });
    const done = await h.client
      .createWaiters(waiterConfig)
      .forJobRun({ jobRunId: created.jobRun.id }, RunState.Succeeded, RunState.Failed);
    expect(done?.jobRun.lifecycleState).toBe(RunState.Failed);
    expect(done?.jobRun.lifecycleDetails).toContain('FAIL_TRAINING');
    expect(h.ds.control.modelHasArtifact(out.id)).toBe(false);
  });

  it('honours opc-retry-token: same body returns the original run, another body is 409', async () => {
    const details = runDetails({ displayName: 'retry-run' });
    const first = await h.client.createJobRun({
      createJobRunDetails: details,
      opcRetryToken: 'tok-1',
    });
    const again = await h.client.createJobRun({
      createJobRunDetails: details,
      opcRetryToken: 'tok-1',
    });
    expect(again.jobRun.id).toBe(first.jobRun.id);
    const runs = await h.client.listJobRuns({ compartmentId, displayName: 'retry-run' });
    expect(runs.items).toHaveLength(1);
    const conflict = await ociError(
      h.client.createJobRun({
        createJobRunDetails: { ...details, displayName: 'other' },
        opcRetryToken: 'tok-1',
      }),
    );
    expect(conflict).toMatchObject({ status: 409, code: 'InvalidatedRetryToken' });
    const otherToken = await h.client.createJobRun({
      createJobRunDetails: details,
      opcRetryToken: 'tok-2',
    });
    expect(otherToken.jobRun.id).not.toBe(first.jobRun.id);
  });

  it('creates one run when the SDK retries a create that failed after it committed', async () => {
    const retrying = new DataScienceClient(
      { authenticationDetailsProvider: h.provider },
      {
        retryConfiguration: {
          ...common.OciSdkDefaultRetryConfiguration,
          terminationStrategy: new common.MaxAttemptsTerminationStrategy(3),
          delayStrategy: new common.FixedTimeDelayStrategy(0.01),
        },
      },
    );
    retrying.endpoint = h.emu.url;
    h.emu.setFaults({ rate: 1, postCommitRate: 1, kinds: ['500'], operations: ['CreateJobRun'] });
    try {
      const err = await ociError(
        retrying.createJobRun({ createJobRunDetails: runDetails({ displayName: 'post-commit' }) }),
      );
      expect(err.status).toBe(500);
    } finally {
      h.emu.setFaults(undefined);
    }
    const attempts = h.emu.injectedFaults().filter((f) => f.operation === 'CreateJobRun');
    expect(attempts).toHaveLength(3);
    // Every attempt carried the SDK's own retry token: the later ones replayed the first.
    const runs = await h.client.listJobRuns({ compartmentId, displayName: 'post-commit' });
    expect(runs.items).toHaveLength(1);
  });

  it('cancels a run: CANCELING then CANCELED, and a finished run cannot be canceled', async () => {
    const created = await h.client.createJobRun({
      createJobRunDetails: runDetails({ displayName: 'to-cancel' }),
    });
    await h.client.cancelJobRun({ jobRunId: created.jobRun.id });
    const canceling = await h.client.getJobRun({ jobRunId: created.jobRun.id });
    expect(canceling.jobRun.lifecycleState).toBe(RunState.Canceling);
    const done = await h.client
      .createWaiters(waiterConfig)
      .forJobRun({ jobRunId: created.jobRun.id }, RunState.Canceled);
    expect(done?.jobRun.timeFinished).toBeTruthy();
    const again = await ociError(h.client.cancelJobRun({ jobRunId: created.jobRun.id }));
    expect(again).toMatchObject({ status: 409, code: 'IncorrectState' });
  });

  it('reports a forced NEEDS_ATTENTION until the run is canceled', async () => {
    const created = await h.client.createJobRun({
      createJobRunDetails: runDetails({ displayName: 'stuck' }),
    });
    h.ds.control.forceJobRunState(created.jobRun.id, 'NEEDS_ATTENTION', 'GPU capacity unavailable');
    const got = await h.client.getJobRun({ jobRunId: created.jobRun.id });
    expect(got.jobRun).toMatchObject({
      lifecycleState: RunState.NeedsAttention,
      lifecycleDetails: 'GPU capacity unavailable',
    });
    await h.client.cancelJobRun({ jobRunId: created.jobRun.id });
    const done = await h.client
      .createWaiters(waiterConfig)
      .forJobRun({ jobRunId: created.jobRun.id }, RunState.Canceled);
    expect(done?.jobRun.lifecycleState).toBe(RunState.Canceled);
  });

  it('lists job runs filtered by job, state and name, with paging', async () => {
    const byName = await h.client.listJobRuns({ compartmentId, jobId, displayName: 'ft-ok' });
    expect(byName.items.map((r) => r.lifecycleState)).toEqual([RunState.Succeeded]);
    const failed = await h.client.listJobRuns({ compartmentId, lifecycleState: RunState.Failed });
    expect(failed.items.map((r) => r.displayName)).toEqual(['ft-bad']);
    const none = await h.client.listJobRuns({
      compartmentId,
      jobId: 'ocid1.datasciencejob.oc1..none',
    });
    expect(none.items).toEqual([]);
    const page1 = await h.client.listJobRuns({ compartmentId, jobId, limit: 2 });
    expect(page1.items).toHaveLength(2);
    expect(page1.opcNextPage).toBeTruthy();
    const page2 = await h.client.listJobRuns({
      compartmentId,
      jobId,
      limit: 2,
      page: page1.opcNextPage,
    });
    expect(page2.items.map((r) => r.id)).not.toContain(page1.items[0]?.id);
  });

  describe('model deployments and predict', () => {
    let deploymentId: string;
    let url: string;
    let servedModelId: string;

    const deploymentDetails = (modelId: string): models.CreateModelDeploymentDetails => ({
      projectId,
      compartmentId,
      displayName: 'llama-md',
      modelDeploymentConfigurationDetails: {
        deploymentType: 'SINGLE_MODEL',
        modelConfigurationDetails: {
          modelId,
          instanceConfiguration: { instanceShapeName: 'VM.GPU.A10.2' },
          scalingPolicy: {
            policyType: 'FIXED_SIZE',
            instanceCount: 1,
          } as models.FixedSizeScalingPolicy,
          bandwidthMbps: 10,
        },
        environmentConfigurationDetails: {
          environmentConfigurationType: 'OCIR_CONTAINER',
          image: 'dsmc://odsc-vllm-serving:0.6.4',
          serverPort: 8080,
          healthCheckPort: 8080,
          environmentVariables: { MODEL_DEPLOY_PREDICT_ENDPOINT: '/v1/completions' },
        } as models.OcirModelDeploymentEnvironmentConfigurationDetails,
      } as models.SingleModelDeploymentConfigurationDetails,
    });

    beforeAll(async () => {
      const runs = await h.client.listJobRuns({ compartmentId, displayName: 'ft-ok' });
      const models_ = await h.client.listModels({ compartmentId, displayName: 'llama-ft' });
      expect(runs.items).toHaveLength(1);
      servedModelId = models_.items[0]!.id;
    });

    it('refuses a model without an artifact', async () => {
      const bare = await newOutputModel('no-artifact');
      const err = await ociError(
        h.client.createModelDeployment({
          createModelDeploymentDetails: deploymentDetails(bare.id),
        }),
      );
      expect(err.status).toBe(400);
      expect(err.message).toContain('artifact');
    });

    it('creates a deployment that becomes ACTIVE, tracked by a work request', async () => {
      const created = await h.client.createModelDeployment({
        createModelDeploymentDetails: deploymentDetails(servedModelId),
      });
      expect(created.modelDeployment.lifecycleState).toBe(MdState.Creating);
      expect(created.opcWorkRequestId).toBeTruthy();
      deploymentId = created.modelDeployment.id;
      url = created.modelDeployment.modelDeploymentUrl;
      expect(url).toBe(`${h.emu.url}/md/${deploymentId}`);
      const waiters = h.client.createWaiters(waiterConfig);
      const active = await waiters.forModelDeployment(
        { modelDeploymentId: deploymentId },
        MdState.Active,
      );
      expect(active?.modelDeployment.modelDeploymentSystemData).toMatchObject({
        systemInfraType: 'INSTANCE_POOL',
        currentInstanceCount: 1,
      });
      const wr = await waiters.forWorkRequest({ workRequestId: created.opcWorkRequestId });
      expect(wr.workRequest).toMatchObject({
        operationType: models.WorkRequestOperationType.ModelDeploymentCreate,
        status: models.WorkRequestStatus.Succeeded,
        percentComplete: 100,
      });
      expect(wr.workRequest.resources[0]).toMatchObject({
        actionType: 'CREATED',
        identifier: deploymentId,
      });
      const listed = await h.client.listModelDeployments({
        compartmentId,
        lifecycleState: MdState.Active,
      });
      expect(listed.items.map((d) => d.id)).toEqual([deploymentId]);
    });

    it('answers a signed completions predict, and refuses an unsigned one with 401', async () => {
      const res = await signedPredict(h.provider, url, {
        model: 'odsc-llm',
        prompt: 'What is OCI?',
        max_tokens: 250,
        temperature: 0.7,
        top_p: 0.8,
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ object: 'text_completion', model: 'odsc-llm' });
      const choice = (body.choices as Record<string, unknown>[])[0]!;
      expect(choice.text).toBe('Emulated reply to: What is OCI?');
      expect(choice.finish_reason).toBe('stop');
      expect(body.usage).toEqual({ prompt_tokens: 3, completion_tokens: 6, total_tokens: 9 });

      const unsigned = await fetch(`${url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'odsc-llm', prompt: 'hi' }),
      });
      expect(unsigned.status).toBe(401);
    });

    it('answers chat through the route header', async () => {
      const res = await signedPredict(
        h.provider,
        url,
        {
          model: 'odsc-llm',
          messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello' }] }],
        },
        { route: '/v1/chat/completions' },
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        object: string;
        choices: { message: { role: string; content: string } }[];
      };
      expect(body.object).toBe('chat.completion');
      expect(body.choices[0]?.message).toMatchObject({
        role: 'assistant',
        content: 'Emulated reply to: Say hello',
      });
    });

    it('streams server-sent events ending with [DONE]', async () => {
      const res = await signedPredict(
        h.provider,
        url,
        { model: 'odsc-llm', prompt: 'one two three', max_tokens: 4, stream: true },
        { 'enable-streaming': 'true', accept: 'text/event-stream' },
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const data = sseData(await res.text());
      expect(data.at(-1)).toBe('[DONE]');
      const chunks = data
        .slice(0, -1)
        .map((d) => JSON.parse(d) as { choices: { text: string; finish_reason: string | null }[] });
      expect(chunks.map((c) => c.choices[0]?.text).join('')).toBe('Emulated reply to: one');
      expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('length');
    });

    it('counts predict requests and tokens per deployment', () => {
      const usage = h.ds.control.predictUsage(deploymentId);
      expect(usage).toMatchObject({ requests: 3, errors: 0, streamingRequests: 1 });
      expect(usage.promptTokens).toBe(3 + 2 + 3);
      expect(usage.completionTokens).toBe(6 + 5 + 4);
      expect(h.ds.control.predictEvents()).toHaveLength(3);
    });

    it('updates the instance count with If-Match: stale etag is 412, fresh etag goes UPDATING -> ACTIVE', async () => {
      const current = await h.client.getModelDeployment({ modelDeploymentId: deploymentId });
      await h.client.updateModelDeployment({
        modelDeploymentId: deploymentId,
        ifMatch: current.etag,
        updateModelDeploymentDetails: { freeformTags: { scaled: 'no' } },
      });
      const stale = await ociError(
        h.client.updateModelDeployment({
          modelDeploymentId: deploymentId,
          ifMatch: current.etag,
          updateModelDeploymentDetails: scaleTo(2),
        }),
      );
      expect(stale).toMatchObject({ status: 412, code: 'NoEtagMatch' });

      const fresh = await h.client.getModelDeployment({ modelDeploymentId: deploymentId });
      const updated = await h.client.updateModelDeployment({
        modelDeploymentId: deploymentId,
        ifMatch: fresh.etag,
        updateModelDeploymentDetails: scaleTo(2),
      });
      expect(updated.opcWorkRequestId).toBeTruthy();
      const during = await h.client.getModelDeployment({ modelDeploymentId: deploymentId });
      expect(during.modelDeployment.lifecycleState).toBe(MdState.Updating);
      // The old instances keep serving during a live update.
      const served = await signedPredict(h.provider, url, { prompt: 'still up?' });
      expect(served.status).toBe(200);
      const waiters = h.client.createWaiters(waiterConfig);
      const active = await waiters.forModelDeployment(
        { modelDeploymentId: deploymentId },
        MdState.Active,
      );
      const mc = (
        active?.modelDeployment
          .modelDeploymentConfigurationDetails as models.SingleModelDeploymentConfigurationDetails
      ).modelConfigurationDetails;
      expect(mc.scalingPolicy).toEqual({ policyType: 'FIXED_SIZE', instanceCount: 2 });
      expect(mc.instanceConfiguration.instanceShapeName).toBe('VM.GPU.A10.2');
      expect(active?.modelDeployment.freeformTags).toEqual({ scaled: 'no' });
      expect(active?.modelDeployment.modelDeploymentSystemData).toMatchObject({
        currentInstanceCount: 2,
      });
      const wr = await waiters.forWorkRequest({ workRequestId: updated.opcWorkRequestId });
      expect(wr.workRequest.operationType).toBe(
        models.WorkRequestOperationType.ModelDeploymentUpdate,
      );
    });

    it('deactivates (predict is then 409), activates again, and deletes', async () => {
      const waiters = h.client.createWaiters(waiterConfig);
      await h.client.deactivateModelDeployment({ modelDeploymentId: deploymentId });
      await waiters.forModelDeployment({ modelDeploymentId: deploymentId }, MdState.Inactive);
      const refused = await signedPredict(h.provider, url, { prompt: 'anyone?' });
      expect(refused.status).toBe(409);
      expect(((await refused.json()) as { code: string }).code).toBe('IncorrectState');
      await h.client.activateModelDeployment({ modelDeploymentId: deploymentId });
      await waiters.forModelDeployment({ modelDeploymentId: deploymentId }, MdState.Active);
      const inUse = await ociError(h.client.deleteModel({ modelId: servedModelId }));
      expect(inUse).toMatchObject({ status: 409 });
      const del = await h.client.deleteModelDeployment({ modelDeploymentId: deploymentId });
      await waiters.forWorkRequest({ workRequestId: del.opcWorkRequestId });
      const gone = await h.client.getModelDeployment({ modelDeploymentId: deploymentId });
      expect(gone.modelDeployment.lifecycleState).toBe(MdState.Deleted);
      const missing = await signedPredict(h.provider, url, { prompt: 'hello?' });
      expect(missing.status).toBe(404);
    });

    const scaleTo = (instanceCount: number): models.UpdateModelDeploymentDetails => ({
      modelDeploymentConfigurationDetails: {
        deploymentType: 'SINGLE_MODEL',
        modelConfigurationDetails: {
          modelId: servedModelId,
          scalingPolicy: {
            policyType: 'FIXED_SIZE',
            instanceCount,
          } as models.FixedSizeScalingPolicy,
        },
      } as models.UpdateSingleModelDeploymentConfigurationDetails,
    });
  });
});

describe('Data Science emulator across a restart', () => {
  it('finishes a job run started before the restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dacflow-ds-restart-'));
    try {
      // Long enough that the run is still running when the first emulator closes.
      const slow = { jobRunStartMs: 0, jobRunDurationMs: 40_000 };
      const first = await startHarness(dir, slow);
      const c = first.emu.compartmentId;
      const project = await first.client.createProject({
        createProjectDetails: { compartmentId: c },
      });
      const job = await first.client.createJob({
        createJobDetails: {
          projectId: project.project.id,
          compartmentId: c,
          jobInfrastructureConfigurationDetails: {
            jobInfrastructureType: 'ME_STANDALONE',
            shapeName: 'VM.GPU.A10.1',
            blockStorageSizeInGBs: 256,
          } as models.ManagedEgressStandaloneJobInfrastructureConfigurationDetails,
        },
      });
      const run = await first.client.createJobRun({
        createJobRunDetails: { projectId: project.project.id, compartmentId: c, jobId: job.job.id },
      });
      const running = await first.client.getJobRun({ jobRunId: run.jobRun.id });
      expect(running.jobRun.lifecycleState).toBe(RunState.InProgress);
      await first.emu.close();

      const second = await startHarness(dir, slow);
      try {
        const done = await second.client
          .createWaiters(waiterConfig)
          .forJobRun({ jobRunId: run.jobRun.id }, RunState.Succeeded, RunState.Failed);
        expect(done?.jobRun.lifecycleState).toBe(RunState.Succeeded);
      } finally {
        await second.emu.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
