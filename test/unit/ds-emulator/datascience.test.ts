import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  dataScienceService,
  type DataScienceEmulatorOptions,
} from '#local/emulator/datascience.ts';
import { MemoryStore, fakeContext, router, type FakeContext } from './fake-context.ts';

const API = '/20190101';
const delays: DataScienceEmulatorOptions = {
  jobRunStartMs: 1_000,
  jobRunDurationMs: 10_000,
  jobRunCancelMs: 2_000,
  jobDeleteMs: 500,
  deploymentCreateMs: 5_000,
  deploymentUpdateMs: 3_000,
  deploymentActivateMs: 2_000,
  deploymentDeactivateMs: 1_000,
  deploymentDeleteMs: 1_000,
};

type Body = Record<string, unknown>;

async function setup(
  extra: DataScienceEmulatorOptions = {},
  store = new MemoryStore(),
  ctx?: FakeContext,
) {
  const c = ctx ?? fakeContext(store);
  const service = dataScienceService({ ...delays, ...extra });
  const call = router(service, c);
  const comp = c.compartmentId;
  const project = await call('POST', `${API}/projects`, { compartmentId: comp });
  const projectId = (project.body as Body).id as string;
  const job = await call('POST', `${API}/jobs`, {
    projectId,
    compartmentId: comp,
    displayName: 'ft-job',
    jobConfigurationDetails: { jobType: 'DEFAULT', environmentVariables: { A: 'job' } },
    jobInfrastructureConfigurationDetails: {
      jobInfrastructureType: 'ME_STANDALONE',
      shapeName: 'VM.GPU.A10.2',
      blockStorageSizeInGBs: 256,
    },
    jobEnvironmentConfigurationDetails: { jobEnvironmentType: 'OCIR_CONTAINER', image: 'img:1' },
  });
  const jobId = (job.body as Body).id as string;
  const createRun = (over: Body = {}, env: Record<string, string> = {}, headers = {}) =>
    call(
      'POST',
      `${API}/jobRuns`,
      {
        projectId,
        compartmentId: comp,
        jobId,
        displayName: 'run',
        jobConfigurationOverrideDetails: { jobType: 'DEFAULT', environmentVariables: env },
        ...over,
      },
      headers,
    );
  const getRun = async (id: string) => (await call('GET', `${API}/jobRuns/${id}`)).body as Body;
  const createModel = async (over: Body = {}) =>
    (
      await call('POST', `${API}/models`, {
        compartmentId: comp,
        projectId,
        displayName: 'm',
        ...over,
      })
    ).body as Body;
  const artifactModel = async () => {
    const m = await createModel();
    const up = await call(
      'POST',
      `${API}/models/${String(m.id)}/artifact`,
      Buffer.from('zipbytes'),
    );
    expect(up.status).toBe(200);
    return m.id as string;
  };
  const deploymentBody = (modelId: string, over: Body = {}) => ({
    projectId,
    compartmentId: comp,
    displayName: 'md',
    modelDeploymentConfigurationDetails: {
      deploymentType: 'SINGLE_MODEL',
      modelConfigurationDetails: {
        modelId,
        instanceConfiguration: { instanceShapeName: 'VM.GPU.A10.2' },
        scalingPolicy: { policyType: 'FIXED_SIZE', instanceCount: 1 },
      },
      environmentConfigurationDetails: {
        environmentConfigurationType: 'OCIR_CONTAINER',
        image: 'vllm:1',
      },
    },
    ...over,
  });
  return {
    ctx: c,
    call,
    service,
    comp,
    projectId,
    jobId,
    createRun,
    getRun,
    createModel,
    artifactModel,
    deploymentBody,
    store,
  };
}

const ftArgs = (modelId: string) =>
  JSON.stringify({
    baseModel: { type: 'modelCatalog', modelId: 'base' },
    outputModel: { type: 'modelCatalog', modelId },
  });

describe('job runs', () => {
  it('go ACCEPTED -> IN_PROGRESS -> SUCCEEDED at the configured times', async () => {
    const { ctx, createRun, getRun } = await setup();
    const t0 = ctx.clockMs;
    const created = await createRun();
    expect(created.status).toBe(200);
    const run = created.body as Body;
    expect(run).toMatchObject({
      lifecycleState: 'ACCEPTED',
      timeAccepted: new Date(t0).toISOString(),
    });
    expect(run.timeStarted).toBeUndefined();
    const id = run.id as string;
    ctx.advance(999);
    expect((await getRun(id)).lifecycleState).toBe('ACCEPTED');
    ctx.advance(1);
    expect(await getRun(id)).toMatchObject({
      lifecycleState: 'IN_PROGRESS',
      timeStarted: new Date(t0 + 1_000).toISOString(),
    });
    ctx.advance(9_999);
    expect((await getRun(id)).lifecycleState).toBe('IN_PROGRESS');
    ctx.advance(1);
    expect(await getRun(id)).toMatchObject({
      lifecycleState: 'SUCCEEDED',
      timeFinished: new Date(t0 + 11_000).toISOString(),
    });
  });

  it('applies due steps even when the run is first read long after it finished', async () => {
    const { ctx, createRun, getRun } = await setup();
    const id = (await createRun()).body as Body;
    ctx.advance(60_000);
    expect(await getRun(id.id as string)).toMatchObject({
      lifecycleState: 'SUCCEEDED',
      timeStarted: new Date(ctx.clockMs - 59_000).toISOString(),
    });
  });

  it('merges run environment overrides over the job and keeps internal fields private', async () => {
    const { createRun } = await setup();
    const out = await createRun({}, { B: 'run', AIP_SMC_FT_ARGUMENTS: ftArgs('m1') });
    const body = out.body as Body;
    expect(body.jobConfigurationOverrideDetails).toEqual({
      jobType: 'DEFAULT',
      environmentVariables: { B: 'run', AIP_SMC_FT_ARGUMENTS: ftArgs('m1') },
    });
    expect(body).not.toHaveProperty('outputModelId');
    expect(body).not.toHaveProperty('steps');
    expect(body.jobInfrastructureConfigurationDetails).toMatchObject({ shapeName: 'VM.GPU.A10.2' });
  });

  it('fails by training-data marker, display name or job id, with lifecycleDetails', async () => {
    const first = await setup({ failJobRunDisplayNames: ['doomed'] });
    const { ctx, createRun, getRun, jobId } = first;
    const byMarker = (
      await createRun(
        {},
        {
          OCI__LAUNCH_CMD: '--training_data "oci://b@ns/x/FAIL_TRAINING.jsonl" --num_epochs 1',
        },
      )
    ).body as Body;
    const byName = (await createRun({ displayName: 'doomed' })).body as Body;
    const ok = (await createRun({}, { OCI__LAUNCH_CMD: '--training_data oci://b@ns/ok.jsonl' }))
      .body as Body;
    ctx.advance(11_000);
    expect(await getRun(byMarker.id as string)).toMatchObject({ lifecycleState: 'FAILED' });
    expect(String((await getRun(byMarker.id as string)).lifecycleDetails)).toContain(
      'FAIL_TRAINING',
    );
    expect((await getRun(byName.id as string)).lifecycleState).toBe('FAILED');
    expect((await getRun(ok.id as string)).lifecycleState).toBe('SUCCEEDED');

    // A second service over the same store, told to fail every run of the first one's job.
    const s3 = await setup({ failJobIds: [jobId] }, first.store, ctx);
    const doomed = (
      await s3.call('POST', `${API}/jobRuns`, {
        projectId: first.projectId,
        compartmentId: first.comp,
        jobId,
      })
    ).body as Body;
    ctx.advance(11_000);
    expect((await s3.getRun(doomed.id as string)).lifecycleState).toBe('FAILED');
  });

  it('fails a run that outlives maximumRuntimeInMinutes when its runtime is up', async () => {
    const { ctx, createRun, getRun } = await setup({ jobRunDurationMs: 3 * 60_000 });
    const run = (
      await createRun({
        jobConfigurationOverrideDetails: { jobType: 'DEFAULT', maximumRuntimeInMinutes: 2 },
      })
    ).body as Body;
    ctx.advance(1_000 + 2 * 60_000);
    const got = await getRun(run.id as string);
    expect(got.lifecycleState).toBe('FAILED');
    expect(got.lifecycleDetails).toBe('Job run exceeded its maximum runtime of 2 minutes');
  });

  it('cancels: CANCELING until the cancel delay, then CANCELED; If-Match is checked', async () => {
    const { ctx, call, createRun, getRun } = await setup();
    const created = await createRun();
    const id = (created.body as Body).id as string;
    ctx.advance(1_000); // now IN_PROGRESS: the creation etag is stale
    const stale = await call('POST', `${API}/jobRuns/${id}/actions/cancelJobRun`, undefined, {
      'if-match': String(created.headers.etag),
    });
    expect(stale.status).toBe(412);
    const fresh = await call('GET', `${API}/jobRuns/${id}`);
    const cancel = await call('POST', `${API}/jobRuns/${id}/actions/cancelJobRun`, undefined, {
      'if-match': String(fresh.headers.etag),
    });
    expect(cancel.status).toBe(202);
    ctx.advance(1_999);
    expect((await getRun(id)).lifecycleState).toBe('CANCELING');
    ctx.advance(1);
    expect(await getRun(id)).toMatchObject({
      lifecycleState: 'CANCELED',
      timeFinished: new Date(ctx.clockMs).toISOString(),
    });
    // The original finish step is gone: it never turns SUCCEEDED.
    ctx.advance(60_000);
    expect((await getRun(id)).lifecycleState).toBe('CANCELED');
    const again = await call('POST', `${API}/jobRuns/${id}/actions/cancelJobRun`);
    expect(again.error?.code).toBe('IncorrectState');
  });

  it('keeps a forced NEEDS_ATTENTION and forced terminal states', async () => {
    const { ctx, service, createRun, getRun } = await setup();
    const id = ((await createRun()).body as Body).id as string;
    service.control.forceJobRunState(id, 'NEEDS_ATTENTION', 'capacity');
    ctx.advance(60_000);
    expect(await getRun(id)).toMatchObject({
      lifecycleState: 'NEEDS_ATTENTION',
      lifecycleDetails: 'capacity',
    });
    service.control.forceJobRunState(id, 'FAILED', 'OOM');
    expect(await getRun(id)).toMatchObject({ lifecycleState: 'FAILED', lifecycleDetails: 'OOM' });
  });

  it('checks the job and project a run names', async () => {
    const { call, comp, projectId, jobId } = await setup();
    const missingJob = await call('POST', `${API}/jobRuns`, {
      projectId,
      compartmentId: comp,
      jobId: 'ocid1.datasciencejob.oc1..nope',
    });
    expect(missingJob.status).toBe(404);
    const other = await call('POST', `${API}/projects`, { compartmentId: comp });
    const wrongProject = await call('POST', `${API}/jobRuns`, {
      projectId: (other.body as Body).id,
      compartmentId: comp,
      jobId,
    });
    expect(wrongProject.status).toBe(400);
    const noCompartment = await call('GET', `${API}/jobRuns`);
    expect(noCompartment.error?.code).toBe('MissingParameter');
  });

  it('replays retry tokens until they expire', async () => {
    const { ctx, createRun, call, comp } = await setup({ retryTokenTtlMs: 60_000 });
    const a = await createRun({}, {}, { 'opc-retry-token': 't' });
    ctx.advance(1_000);
    const b = await createRun({}, {}, { 'opc-retry-token': 't' });
    expect((b.body as Body).id).toBe((a.body as Body).id);
    // The replay shows the run as it is now, not as it was.
    expect((b.body as Body).lifecycleState).toBe('IN_PROGRESS');
    const bad = await createRun({ displayName: 'x' }, {}, { 'opc-retry-token': 't' });
    expect(bad).toMatchObject({ status: 409, error: { code: 'InvalidatedRetryToken' } });
    ctx.advance(60_000);
    const c = await createRun({}, {}, { 'opc-retry-token': 't' });
    expect((c.body as Body).id).not.toBe((a.body as Body).id);
    const list = await call('GET', `${API}/jobRuns?compartmentId=${comp}`);
    expect(list.body as Body[]).toHaveLength(2);
  });

  it('deletes a job only with its finished runs, when asked to', async () => {
    const { ctx, call, createRun, jobId, getRun } = await setup();
    const run = ((await createRun()).body as Body).id as string;
    const busy = await call('DELETE', `${API}/jobs/${jobId}`);
    expect(busy.error?.code).toBe('IncorrectState');
    ctx.advance(11_000);
    const refused = await call('DELETE', `${API}/jobs/${jobId}`);
    expect(refused.status).toBe(409);
    const del = await call('DELETE', `${API}/jobs/${jobId}?deleteRelatedJobRuns=true`);
    expect(del.status).toBe(202);
    expect((await getRun(run)).lifecycleState).toBe('DELETED');
    expect(((await call('GET', `${API}/jobs/${jobId}`)).body as Body).lifecycleState).toBe(
      'DELETING',
    );
    ctx.advance(500);
    expect(((await call('GET', `${API}/jobs/${jobId}`)).body as Body).lifecycleState).toBe(
      'DELETED',
    );
  });
});

describe('restart', () => {
  it('a new service over the same store finishes runs and registers the output model', async () => {
    const store = new MemoryStore();
    const ctx = fakeContext(store);
    const first = await setup({}, store, ctx);
    const model = await first.createModel();
    const runId = (
      (await first.createRun({}, { AIP_SMC_FT_ARGUMENTS: ftArgs(model.id as string) })).body as Body
    ).id as string;
    ctx.advance(5_000);

    const second = dataScienceService(delays);
    const call = router(second, ctx);
    ctx.advance(6_000);
    const got = (await call('GET', `${API}/jobRuns/${runId}`)).body as Body;
    expect(got.lifecycleState).toBe('SUCCEEDED');
    expect(second.control.modelHasArtifact(model.id as string)).toBe(true);
    const head = await call('HEAD', `${API}/models/${String(model.id)}/artifact/content`);
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
  });
});

describe('models', () => {
  it('numbers versions within a model version set and stores metadata', async () => {
    const { call, comp, projectId, createModel } = await setup();
    const set = (
      await call('POST', `${API}/modelVersionSets`, {
        compartmentId: comp,
        projectId,
        name: 'llama',
      })
    ).body as Body;
    const dup = await call('POST', `${API}/modelVersionSets`, {
      compartmentId: comp,
      projectId,
      name: 'llama',
    });
    expect(dup.status).toBe(409);
    const meta = [{ key: 'base_model', value: 'llama', category: 'Other' }];
    const v1 = await createModel({ modelVersionSetId: set.id, customMetadataList: meta });
    const v2 = await createModel({ modelVersionSetId: set.id, versionLabel: 'ft-2' });
    expect(v1).toMatchObject({
      versionId: 1,
      modelVersionSetName: 'llama',
      customMetadataList: meta,
    });
    expect(v2).toMatchObject({ versionId: 2, versionLabel: 'ft-2' });
    const listed = await call(
      'GET',
      `${API}/models?compartmentId=${comp}&modelVersionSetName=llama&versionLabel=ft-2`,
    );
    expect((listed.body as Body[]).map((m) => m.id)).toEqual([v2.id]);
  });

  it('updates with If-Match, keeps provenance and refuses a second artifact', async () => {
    const { call, createModel } = await setup();
    const m = await createModel({ freeformTags: { a: '1' } });
    const id = m.id as string;
    const got = await call('GET', `${API}/models/${id}`);
    const upd = await call(
      'PUT',
      `${API}/models/${id}`,
      { freeformTags: { a: '2' } },
      {
        'if-match': String(got.headers.etag),
      },
    );
    expect((upd.body as Body).freeformTags).toEqual({ a: '2' });
    const stale = await call(
      'PUT',
      `${API}/models/${id}`,
      { displayName: 'x' },
      {
        'if-match': String(got.headers.etag),
      },
    );
    expect(stale.status).toBe(412);
    const prov = await call('POST', `${API}/models/${id}/provenance`, {
      trainingId: 'ocid1.datasciencejobrun.x',
    });
    expect(prov.status).toBe(200);
    expect((await call('GET', `${API}/models/${id}/provenance`)).body).toEqual({
      trainingId: 'ocid1.datasciencejobrun.x',
    });
    expect((await call('HEAD', `${API}/models/${id}/artifact/content`)).status).toBe(404);
    expect((await call('POST', `${API}/models/${id}/artifact`, Buffer.from('a'))).status).toBe(200);
    expect((await call('POST', `${API}/models/${id}/artifact`, Buffer.from('b'))).status).toBe(409);
    expect((await call('DELETE', `${API}/models/${id}`)).status).toBe(204);
    expect((await call('GET', `${API}/models/${id}`)).body).toMatchObject({
      lifecycleState: 'DELETED',
    });
  });
});

describe('model deployments', () => {
  it('go CREATING -> ACTIVE with a work request, and report a URL on the emulator', async () => {
    const { ctx, call, artifactModel, deploymentBody } = await setup();
    const modelId = await artifactModel();
    const created = await call('POST', `${API}/modelDeployments`, deploymentBody(modelId));
    expect(created.status).toBe(200);
    const md = created.body as Body;
    expect(md.lifecycleState).toBe('CREATING');
    expect(md.modelDeploymentUrl).toBe(`http://emu.local:9/md/${String(md.id)}`);
    expect(md.modelDeploymentSystemData).toEqual({
      systemInfraType: 'INSTANCE_POOL',
      currentInstanceCount: 0,
    });
    const wrId = String(created.headers['opc-work-request-id']);
    expect((await call('GET', `${API}/workRequests/${wrId}`)).body).toMatchObject({
      status: 'ACCEPTED',
    });
    ctx.advance(2_500);
    expect((await call('GET', `${API}/workRequests/${wrId}`)).body).toMatchObject({
      status: 'IN_PROGRESS',
      percentComplete: 44,
    });
    ctx.advance(2_500);
    const wr = (await call('GET', `${API}/workRequests/${wrId}`)).body as Body;
    expect(wr).toMatchObject({
      status: 'SUCCEEDED',
      percentComplete: 100,
      operationType: 'MODEL_DEPLOYMENT_CREATE',
    });
    expect(wr.resources).toEqual([
      {
        entityType: 'modelDeployment',
        actionType: 'CREATED',
        identifier: md.id,
        entityUri: `/20190101/modelDeployments/${String(md.id)}`,
      },
    ]);
    expect((await call('GET', `${API}/modelDeployments/${String(md.id)}`)).body).toMatchObject({
      lifecycleState: 'ACTIVE',
      modelDeploymentSystemData: { currentInstanceCount: 1 },
    });
  });

  it('uses baseUrl for the deployment URL when given', async () => {
    const { call, artifactModel, deploymentBody } = await setup({
      baseUrl: () => 'http://127.0.0.1:4321/',
    });
    const md = (
      await call('POST', `${API}/modelDeployments`, deploymentBody(await artifactModel()))
    ).body as Body;
    expect(md.modelDeploymentUrl).toBe(`http://127.0.0.1:4321/md/${String(md.id)}`);
  });

  it('replays a create with its work request id', async () => {
    const { call, artifactModel, deploymentBody } = await setup();
    const body = deploymentBody(await artifactModel());
    const a = await call('POST', `${API}/modelDeployments`, body, { 'opc-retry-token': 'md' });
    const b = await call('POST', `${API}/modelDeployments`, body, { 'opc-retry-token': 'md' });
    expect((b.body as Body).id).toBe((a.body as Body).id);
    expect(b.headers['opc-work-request-id']).toBe(a.headers['opc-work-request-id']);
  });

  it('scales with a live update: serves while UPDATING, instance count changes when ACTIVE', async () => {
    const { ctx, call, artifactModel, deploymentBody } = await setup();
    const modelId = await artifactModel();
    const id = (
      (await call('POST', `${API}/modelDeployments`, deploymentBody(modelId))).body as Body
    ).id as string;
    const early = await call('PUT', `${API}/modelDeployments/${id}`, { displayName: 'x' });
    expect(early.error?.code).toBe('IncorrectState');
    ctx.advance(5_000);
    const got = await call('GET', `${API}/modelDeployments/${id}`);
    const update = await call(
      'PUT',
      `${API}/modelDeployments/${id}`,
      {
        modelDeploymentConfigurationDetails: {
          deploymentType: 'SINGLE_MODEL',
          modelConfigurationDetails: {
            modelId,
            scalingPolicy: { policyType: 'FIXED_SIZE', instanceCount: 3 },
          },
        },
      },
      { 'if-match': String(got.headers.etag) },
    );
    expect(update.status).toBe(202);
    const during = (await call('GET', `${API}/modelDeployments/${id}`)).body as Body;
    expect(during).toMatchObject({
      lifecycleState: 'UPDATING',
      modelDeploymentSystemData: { currentInstanceCount: 1 },
    });
    const predicted = await call('POST', `/md/${id}/predict`, { prompt: 'hi' });
    expect(predicted.status).toBe(200);
    const twice = await call('PUT', `${API}/modelDeployments/${id}`, { displayName: 'y' });
    expect(twice.error?.code).toBe('IncorrectState');
    ctx.advance(3_000);
    const after = (await call('GET', `${API}/modelDeployments/${id}`)).body as Body;
    expect(after).toMatchObject({
      lifecycleState: 'ACTIVE',
      modelDeploymentSystemData: { currentInstanceCount: 3 },
    });
    expect(after).not.toHaveProperty('servesWhileUpdating');
  });

  it('stops serving as soon as it is deactivated and serves again only once ACTIVE', async () => {
    const { ctx, call, artifactModel, deploymentBody } = await setup();
    const md = (
      await call('POST', `${API}/modelDeployments`, deploymentBody(await artifactModel()))
    ).body as Body;
    const id = md.id as string;
    ctx.advance(5_000);
    const off = await call('POST', `${API}/modelDeployments/${id}/actions/deactivate`);
    expect(off.status).toBe(202);
    expect(((await call('GET', `${API}/modelDeployments/${id}`)).body as Body).lifecycleState).toBe(
      'UPDATING',
    );
    expect((await call('POST', `/md/${id}/predict`, { prompt: 'x' })).status).toBe(409);
    ctx.advance(1_000);
    expect((await call('GET', `${API}/modelDeployments/${id}`)).body).toMatchObject({
      lifecycleState: 'INACTIVE',
      modelDeploymentSystemData: { currentInstanceCount: 0 },
    });
    const twice = await call('POST', `${API}/modelDeployments/${id}/actions/deactivate`);
    expect(twice.error?.code).toBe('IncorrectState');
    await call('POST', `${API}/modelDeployments/${id}/actions/activate`);
    expect((await call('POST', `/md/${id}/predict`, { prompt: 'x' })).status).toBe(409);
    ctx.advance(2_000);
    expect((await call('POST', `/md/${id}/predict`, { prompt: 'x' })).status).toBe(200);
    expect((await call('GET', `${API}/modelDeployments/${id}`)).body).toMatchObject({
      lifecycleState: 'ACTIVE',
      modelDeploymentSystemData: { currentInstanceCount: 1 },
    });
  });

  it('ends FAILED by display name, with a failed work request and its error', async () => {
    const { ctx, call, artifactModel, deploymentBody } = await setup({
      failDeploymentDisplayNames: ['bad-md'],
    });
    const created = await call(
      'POST',
      `${API}/modelDeployments`,
      deploymentBody(await artifactModel(), { displayName: 'bad-md' }),
    );
    ctx.advance(5_000);
    const id = (created.body as Body).id as string;
    expect(((await call('GET', `${API}/modelDeployments/${id}`)).body as Body).lifecycleState).toBe(
      'FAILED',
    );
    const wrId = String(created.headers['opc-work-request-id']);
    expect(((await call('GET', `${API}/workRequests/${wrId}`)).body as Body).status).toBe('FAILED');
    const errors = (await call('GET', `${API}/workRequests/${wrId}/errors`)).body as Body[];
    expect(errors[0]?.code).toBe('WorkRequestFailed');
    const predicted = await call('POST', `/md/${id}/predict`, { prompt: 'hi' });
    expect(predicted.status).toBe(409);
  });

  it('refuses other deployment types and unknown models', async () => {
    const { call, deploymentBody, artifactModel } = await setup();
    const group = await call('POST', `${API}/modelDeployments`, {
      ...deploymentBody(await artifactModel()),
      modelDeploymentConfigurationDetails: { deploymentType: 'MODEL_GROUP' },
    });
    expect(group.status).toBe(400);
    const unknown = await call(
      'POST',
      `${API}/modelDeployments`,
      deploymentBody('ocid1.datasciencemodel.oc1..nope'),
    );
    expect(unknown.status).toBe(404);
  });

  it('answers predict in the completions, chat and buffered-stream shapes and meters it', async () => {
    const { ctx, call, service, artifactModel, deploymentBody } = await setup();
    const id = (
      (await call('POST', `${API}/modelDeployments`, deploymentBody(await artifactModel())))
        .body as Body
    ).id as string;
    const notYet = await call('POST', `/md/${id}/predict`, { prompt: 'hi' });
    expect(notYet.status).toBe(409);
    ctx.advance(5_000);
    const wrongModel = await call('POST', `/md/${id}/predict`, { model: 'gpt-4', prompt: 'hi' });
    expect(wrongModel.status).toBe(404);
    expect(wrongModel.body).toMatchObject({ object: 'error', type: 'NotFoundError' });
    const buffered = await call('POST', `/md/${id}/predict`, { prompt: 'a b', stream: true });
    expect(buffered.headers['content-type']).toBe('text/event-stream');
    expect(Buffer.isBuffer(buffered.body)).toBe(true);
    expect(String(buffered.body)).toMatch(/data: \[DONE\]\n\n$/);
    const streamed = await call('POST', `/md/${id}/predictWithResponseStream`, { prompt: 'a b' });
    expect(streamed.body).toBeInstanceOf(Readable);
    const usage = service.control.predictUsage(id);
    expect(usage).toMatchObject({ requests: 4, errors: 2, streamingRequests: 2, promptTokens: 4 });
    expect(service.control.allPredictUsage().map((u) => u.deploymentId)).toEqual([id]);
    expect(service.control.predictEvents(ctx.clockMs).map((e) => e.status)).toEqual([
      404, 200, 200,
    ]);
  });
});

describe('options', () => {
  it('rejects unknown or invalid options', () => {
    expect(() => dataScienceService({ jobRunMs: 1 } as never)).toThrow(
      /invalid dataScienceService options/,
    );
    expect(() => dataScienceService({ jobRunStartMs: -1 })).toThrow(/jobRunStartMs/);
  });
});
