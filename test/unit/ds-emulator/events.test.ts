/**
 * The Data Science emulator's OCI Events on an injected clock with hand-run timers, so the
 * "announced exactly once, by a timer or by a read, whichever comes first" rule is tested exactly.
 */
import { describe, expect, it } from 'vitest';
import {
  dataScienceService,
  type DataScienceEmulatorOptions,
} from '#local/emulator/datascience.ts';
import type { EmulatorContext } from '#local/emulator/service.ts';
import { MemoryStore, fakeContext, router } from './fake-context.ts';

const API = '/20190101';
const PREFIX = 'com.oraclecloud.datascience.';
const delays: DataScienceEmulatorOptions = {
  jobRunStartMs: 1_000,
  jobRunDurationMs: 10_000,
  jobRunCancelMs: 2_000,
  deploymentCreateMs: 5_000,
  deploymentUpdateMs: 3_000,
  deploymentActivateMs: 2_000,
  deploymentDeactivateMs: 1_000,
  deploymentDeleteMs: 1_000,
  requireModelArtifact: false,
};

type Body = Record<string, unknown>;
type Emitted = Parameters<EmulatorContext['emitEvent']>[0];

/** A fake context whose events are recorded and whose timers run only when the test says so. */
function eventContext(store: MemoryStore, startMs?: number) {
  const ctx = fakeContext(store, startMs);
  const events: Emitted[] = [];
  const timers: { dueMs: number; fn: () => void }[] = [];
  ctx.emitEvent = (e) => {
    events.push(e);
  };
  ctx.after = (ms, fn) => {
    timers.push({ dueMs: ctx.clockMs + ms, fn });
  };
  /** Runs every due timer, including those armed by the timers it runs. */
  const runTimers = () => {
    for (;;) {
      const i = timers.findIndex((t) => t.dueMs <= ctx.clockMs);
      if (i < 0) return;
      timers.splice(i, 1)[0]?.fn();
    }
  };
  return {
    ctx,
    events,
    timers,
    runTimers,
    /** Moves the clock and fires what came due. */
    tick(ms: number) {
      ctx.advance(ms);
      runTimers();
    },
    /** The short event types about one resource, in emission order. */
    typesOf(id: string) {
      return events
        .filter((e) => e.data.resourceId === id)
        .map((e) => e.eventType.replace(PREFIX, ''));
    },
  };
}

async function setup(extra: DataScienceEmulatorOptions = {}, store = new MemoryStore()) {
  const ec = eventContext(store);
  const service = dataScienceService({ ...delays, ...extra });
  const call = router(service, ec.ctx);
  const comp = ec.ctx.compartmentId;
  const projectId = ((await call('POST', `${API}/projects`, { compartmentId: comp })).body as Body)
    .id as string;
  const jobId = (
    (
      await call('POST', `${API}/jobs`, {
        projectId,
        compartmentId: comp,
        jobConfigurationDetails: { jobType: 'DEFAULT' },
        jobInfrastructureConfigurationDetails: {
          jobInfrastructureType: 'ME_STANDALONE',
          shapeName: 'VM.GPU.A10.2',
          blockStorageSizeInGBs: 256,
        },
      })
    ).body as Body
  ).id as string;
  const createRun = async (over: Body = {}) => {
    const res = await call('POST', `${API}/jobRuns`, {
      projectId,
      compartmentId: comp,
      jobId,
      displayName: 'run',
      ...over,
    });
    expect(res.status).toBe(200);
    return (res.body as Body).id as string;
  };
  const runState = async (id: string) =>
    ((await call('GET', `${API}/jobRuns/${id}`)).body as Body).lifecycleState;
  const createDeployment = async (displayName = 'md') => {
    const model = (await call('POST', `${API}/models`, { compartmentId: comp, projectId }))
      .body as Body;
    const res = await call('POST', `${API}/modelDeployments`, {
      projectId,
      compartmentId: comp,
      displayName,
      modelDeploymentConfigurationDetails: {
        deploymentType: 'SINGLE_MODEL',
        modelConfigurationDetails: {
          modelId: model.id,
          instanceConfiguration: { instanceShapeName: 'VM.GPU.A10.2' },
          scalingPolicy: { policyType: 'FIXED_SIZE', instanceCount: 1 },
        },
      },
      freeformTags: { app: 'chat' },
    });
    expect(res.status).toBe(200);
    return { id: (res.body as Body).id as string, modelId: model.id as string };
  };
  const deploymentState = async (id: string) =>
    ((await call('GET', `${API}/modelDeployments/${id}`)).body as Body).lifecycleState;
  return {
    ...ec,
    call,
    service,
    comp,
    createRun,
    runState,
    createDeployment,
    deploymentState,
  };
}

describe('job run events', () => {
  it('announces createjobrun.begin at once and createjobrun.end when the timer finds the run finished', async () => {
    const s = await setup();
    const id = await s.createRun({
      freeformTags: { team: 'ml' },
      definedTags: { Operations: { CostCenter: '42' } },
    });
    expect(s.typesOf(id)).toEqual(['createjobrun.begin']);
    expect(s.events[0]).toEqual({
      eventType: `${PREFIX}createjobrun.begin`,
      source: 'datascience',
      eventTypeVersion: '2.0',
      extensions: { compartmentId: s.comp },
      data: {
        compartmentId: s.comp,
        compartmentName: 'dacflow-local',
        resourceName: 'run',
        resourceId: id,
        availabilityDomain: 'all',
        freeFormTags: { team: 'ml' },
        definedTags: { Operations: { CostCenter: '42' } },
      },
    });
    s.tick(1_000);
    expect(s.typesOf(id)).toEqual(['createjobrun.begin']);
    s.tick(9_999);
    expect(s.typesOf(id)).toEqual(['createjobrun.begin']);
    s.tick(1);
    expect(s.typesOf(id)).toEqual(['createjobrun.begin', 'createjobrun.end']);
    expect(await s.runState(id)).toBe('SUCCEEDED');
    s.tick(60_000);
    expect(s.typesOf(id)).toEqual(['createjobrun.begin', 'createjobrun.end']);
  });

  it('announces the end once when a read settles the run before its timer fires', async () => {
    const s = await setup();
    const id = await s.createRun();
    s.ctx.advance(11_000);
    expect(await s.runState(id)).toBe('SUCCEEDED');
    expect(s.typesOf(id)).toEqual(['createjobrun.begin', 'createjobrun.end']);
    s.runTimers();
    await s.call('GET', `${API}/jobRuns?compartmentId=${s.comp}`);
    expect(s.typesOf(id)).toEqual(['createjobrun.begin', 'createjobrun.end']);
  });

  it('waits again when its timer fires before the clock reaches the step', async () => {
    const s = await setup();
    const id = await s.createRun();
    s.ctx.advance(10_999);
    const early = s.timers.splice(0, 1)[0];
    early?.fn();
    expect(s.typesOf(id)).toEqual(['createjobrun.begin']);
    expect(s.timers.map((t) => t.dueMs - s.ctx.clockMs)).toEqual([1]);
    s.tick(1);
    expect(s.typesOf(id)).toEqual(['createjobrun.begin', 'createjobrun.end']);
  });

  it('announces a failed run the same way', async () => {
    const s = await setup({ failJobRunDisplayNames: ['bad'] });
    const id = await s.createRun({ displayName: 'bad' });
    s.tick(11_000);
    expect(s.typesOf(id)).toEqual(['createjobrun.begin', 'createjobrun.end']);
    expect(await s.runState(id)).toBe('FAILED');
  });

  it('announces a cancel: canceljobrun.begin, then canceljobrun.end and createjobrun.end when CANCELED', async () => {
    const s = await setup();
    const id = await s.createRun();
    s.tick(1_000);
    expect((await s.call('POST', `${API}/jobRuns/${id}/actions/cancelJobRun`)).status).toBe(202);
    expect(s.typesOf(id)).toEqual(['createjobrun.begin', 'canceljobrun.begin']);
    s.tick(1_999);
    expect(await s.runState(id)).toBe('CANCELING');
    s.tick(1);
    expect(s.typesOf(id)).toEqual([
      'createjobrun.begin',
      'canceljobrun.begin',
      'canceljobrun.end',
      'createjobrun.end',
    ]);
    // The run's original finish time passes: its timer finds nothing to announce.
    s.tick(20_000);
    expect(await s.runState(id)).toBe('CANCELED');
    expect(s.typesOf(id)).toHaveLength(4);
  });

  it('announces a forced FAILED at once, and never a second end', async () => {
    const s = await setup();
    const id = await s.createRun();
    s.tick(1_000);
    s.service.control.forceJobRunState(id, 'NEEDS_ATTENTION');
    expect(s.typesOf(id)).toEqual(['createjobrun.begin']);
    s.service.control.forceJobRunState(id, 'FAILED', 'out of memory');
    expect(s.typesOf(id)).toEqual(['createjobrun.begin', 'createjobrun.end']);
    s.tick(20_000);
    s.service.control.forceJobRunState(id, 'SUCCEEDED');
    expect(s.typesOf(id)).toEqual(['createjobrun.begin', 'createjobrun.end']);
  });

  it('announces deletejobrun when a finished run is deleted', async () => {
    const s = await setup();
    const id = await s.createRun();
    s.tick(11_000);
    expect((await s.call('DELETE', `${API}/jobRuns/${id}`)).status).toBe(204);
    expect(s.typesOf(id)).toEqual(['createjobrun.begin', 'createjobrun.end', 'deletejobrun']);
  });

  it('announces after a restart the transitions a previous process left pending', async () => {
    const store = new MemoryStore();
    const before = await setup({}, store);
    const id = await before.createRun();
    // A new process on the same data, with its own timers; the old one's timers are gone.
    const after = eventContext(store, before.ctx.clockMs);
    router(dataScienceService(delays), after.ctx);
    after.tick(10_999);
    expect(after.typesOf(id)).toEqual([]);
    after.tick(1);
    expect(after.typesOf(id)).toEqual(['createjobrun.end']);
  });
});

describe('model deployment events', () => {
  it('announces create, update, deactivate, activate and delete, each begin at once and end when done', async () => {
    const s = await setup();
    const { id, modelId } = await s.createDeployment();
    expect(s.typesOf(id)).toEqual(['createmodeldeployment.begin']);
    expect(s.events[s.events.length - 1]?.data).toMatchObject({
      resourceId: id,
      resourceName: 'md',
      freeFormTags: { app: 'chat' },
    });
    s.tick(4_999);
    expect(s.typesOf(id)).toHaveLength(1);
    s.tick(1);
    expect(s.typesOf(id)).toEqual(['createmodeldeployment.begin', 'createmodeldeployment.end']);
    expect(await s.deploymentState(id)).toBe('ACTIVE');

    const scale = await s.call('PUT', `${API}/modelDeployments/${id}`, {
      modelDeploymentConfigurationDetails: {
        deploymentType: 'SINGLE_MODEL',
        modelConfigurationDetails: {
          modelId,
          scalingPolicy: { policyType: 'FIXED_SIZE', instanceCount: 2 },
        },
      },
    });
    expect(scale.status).toBe(202);
    expect(s.typesOf(id).slice(2)).toEqual(['updatemodeldeployment.begin']);
    s.tick(3_000);
    expect(s.typesOf(id).slice(2)).toEqual([
      'updatemodeldeployment.begin',
      'updatemodeldeployment.end',
    ]);

    // A change of tags only is applied at once: both events at once.
    await s.call('PUT', `${API}/modelDeployments/${id}`, { freeformTags: { app: 'chat2' } });
    expect(s.typesOf(id).slice(4)).toEqual([
      'updatemodeldeployment.begin',
      'updatemodeldeployment.end',
    ]);
    expect(s.events[s.events.length - 1]?.data.freeFormTags).toEqual({ app: 'chat2' });

    await s.call('POST', `${API}/modelDeployments/${id}/actions/deactivate`);
    expect(s.typesOf(id).slice(6)).toEqual(['deactivatemodeldeployment.begin']);
    s.tick(1_000);
    await s.call('POST', `${API}/modelDeployments/${id}/actions/activate`);
    s.tick(2_000);
    await s.call('DELETE', `${API}/modelDeployments/${id}`);
    expect(s.typesOf(id).slice(6)).toEqual([
      'deactivatemodeldeployment.begin',
      'deactivatemodeldeployment.end',
      'activatemodeldeployment.begin',
      'activatemodeldeployment.end',
      'deletemodeldeployment.begin',
    ]);
    s.tick(1_000);
    expect(s.typesOf(id).slice(11)).toEqual(['deletemodeldeployment.end']);
    expect(await s.deploymentState(id)).toBe('DELETED');
    s.tick(60_000);
    expect(s.typesOf(id)).toHaveLength(12);
  });

  it('announces the end of a create that fails, and of one a force finishes early', async () => {
    const s = await setup({ failDeploymentDisplayNames: ['broken'] });
    const failing = await s.createDeployment('broken');
    const forced = await s.createDeployment('forced');
    s.service.control.forceDeploymentState(forced.id, 'ACTIVE');
    expect(s.typesOf(forced.id)).toEqual([
      'createmodeldeployment.begin',
      'createmodeldeployment.end',
    ]);
    s.tick(5_000);
    expect(await s.deploymentState(failing.id)).toBe('FAILED');
    expect(s.typesOf(failing.id)).toEqual([
      'createmodeldeployment.begin',
      'createmodeldeployment.end',
    ]);
    expect(s.typesOf(forced.id)).toHaveLength(2);
    // A force with no operation under way announces nothing.
    s.service.control.forceDeploymentState(forced.id, 'NEEDS_ATTENTION');
    expect(s.typesOf(forced.id)).toHaveLength(2);
  });
});
