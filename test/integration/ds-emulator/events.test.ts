/**
 * Data Science OCI Events from the local emulator, seen the way a deployed dacflow sees them: an
 * Events rule created with the real EventsClient, a FAAS action, and the function invoker
 * receiving the CloudEvents envelope. Job runs and deployments are driven with the real
 * DataScienceClient.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { models } from 'oci-datascience';
import { EventsClient, type models as eventModels } from 'oci-events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudEvent } from '#local/emulator/service.ts';
import { startHarness, waiterConfig, type Harness } from './helpers.ts';

const PREFIX = 'com.oraclecloud.datascience.';
const fnRuns = 'ocid1.fnfunc.oc1.us-chicago-1.runs';
const fnDeployments = 'ocid1.fnfunc.oc1.us-chicago-1.deployments';

/** Resolves when `check` returns a value, polling on the event loop (no fixed sleeps). */
async function eventually<T>(check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Call {
  functionId: string;
  event: CloudEvent;
}

describe('Data Science events through Events rules and the function invoker', () => {
  let h: Harness;
  let dir: string;
  let compartmentId: string;
  let projectId: string;
  let jobId: string;
  const calls: Call[] = [];

  const eventsOf = (id: string) => calls.filter((c) => c.event.data.resourceId === id);
  const typesOf = (id: string) => eventsOf(id).map((c) => c.event.eventType.replace(PREFIX, ''));
  const waitFor = (id: string, type: string) =>
    eventually(() =>
      eventsOf(id).find((c) => c.event.eventType === PREFIX + type) ? true : undefined,
    );

  const createRun = async (displayName: string, freeformTags: Record<string, string> = {}) =>
    (
      await h.client.createJobRun({
        createJobRunDetails: { projectId, compartmentId, jobId, displayName, freeformTags },
      })
    ).jobRun;

  /**
   * Deliveries leave in emission order, so once a later event has arrived every earlier one has
   * too. A run's end comes after the timers of every run created before it.
   */
  const barrier = async () => {
    const run = await createRun('barrier');
    await waitFor(run.id, 'createjobrun.end');
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dacflow-ds-events-'));
    h = await startHarness(dir, { requireModelArtifact: false });
    compartmentId = h.emu.compartmentId;
    h.emu.setInvoker(async (functionId, body) => {
      calls.push({ functionId, event: JSON.parse(body.toString('utf8')) as CloudEvent });
      return { status: 200, body: Buffer.from('{}') };
    });
    const events = new EventsClient({ authenticationDetailsProvider: h.provider });
    events.endpoint = h.emu.url;
    const create = (
      displayName: string,
      types: string[],
      functionId: string,
    ): ReturnType<EventsClient['createRule']> => {
      const action: eventModels.CreateFaaSActionDetails = {
        actionType: 'FAAS',
        isEnabled: true,
        functionId,
      };
      return events.createRule({
        createRuleDetails: {
          displayName,
          compartmentId,
          isEnabled: true,
          condition: JSON.stringify({ eventType: types.map((t) => PREFIX + t) }),
          actions: { actions: [action] },
        },
      });
    };
    await create(
      'ds-runs',
      ['createjobrun.begin', 'createjobrun.end', 'canceljobrun.begin', 'canceljobrun.end'],
      fnRuns,
    );
    await create(
      'ds-deployments',
      ['createmodeldeployment.begin', 'createmodeldeployment.end'],
      fnDeployments,
    );
    projectId = (await h.client.createProject({ createProjectDetails: { compartmentId } })).project
      .id;
    jobId = (
      await h.client.createJob({
        createJobDetails: {
          projectId,
          compartmentId,
          displayName: 'ft',
          jobConfigurationDetails: { jobType: 'DEFAULT' } as models.DefaultJobConfigurationDetails,
          jobInfrastructureConfigurationDetails: {
            jobInfrastructureType: 'ME_STANDALONE',
            shapeName: 'VM.GPU.A10.2',
            blockStorageSizeInGBs: 256,
          } as models.ManagedEgressStandaloneJobInfrastructureConfigurationDetails,
        },
      })
    ).job.id;
  });

  afterAll(async () => {
    await h.emu.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends createjobrun.begin then createjobrun.end once for a run that succeeds', async () => {
    const run = await createRun('ok', { workflow: 'support-bot' });
    await waitFor(run.id, 'createjobrun.end');
    // Reads settle the run again; they must not announce it again.
    const got = await h.client.getJobRun({ jobRunId: run.id });
    expect(got.jobRun.lifecycleState).toBe(models.JobRunLifecycleState.Succeeded);
    await h.client.listJobRuns({ compartmentId, jobId });
    // A second run awaited with the SDK waiter: its polls race the emulator's timer.
    const raced = await createRun('raced');
    await h.client
      .createWaiters(waiterConfig)
      .forJobRun({ jobRunId: raced.id }, models.JobRunLifecycleState.Succeeded);
    await barrier();

    expect(typesOf(run.id)).toEqual(['createjobrun.begin', 'createjobrun.end']);
    expect(typesOf(raced.id)).toEqual(['createjobrun.begin', 'createjobrun.end']);
    const [begin, end] = eventsOf(run.id).map((c) => c.event);
    expect(eventsOf(run.id).every((c) => c.functionId === fnRuns)).toBe(true);
    expect(end).toMatchObject({
      cloudEventsVersion: '0.1',
      eventType: `${PREFIX}createjobrun.end`,
      source: 'datascience',
      eventTypeVersion: '2.0',
      contentType: 'application/json',
      extensions: { compartmentId },
      data: {
        compartmentId,
        resourceName: 'ok',
        resourceId: run.id,
        freeFormTags: { workflow: 'support-bot' },
        definedTags: {},
      },
    });
    expect(end?.data).not.toHaveProperty('additionalDetails');
    expect(end?.eventID).toMatch(/^[0-9a-f-]{36}$/);
    expect(end?.eventID).not.toBe(begin?.eventID);
    // Sent when the run was accepted, and when it had finished.
    const ms = (t: Date | string | undefined) => new Date(t ?? NaN).getTime();
    expect(ms(begin?.eventTime)).toBeLessThan(ms(got.jobRun.timeStarted));
    expect(ms(end?.eventTime)).toBeGreaterThanOrEqual(ms(got.jobRun.timeFinished));
    expect(
      h.emu
        .eventDeliveries()
        .filter((d) => d.eventID === end?.eventID)
        .map((d) => d.outcome),
    ).toEqual(['delivered']);
  });

  it('sends canceljobrun.begin and canceljobrun.end (and the run’s end) for a canceled run', async () => {
    const run = await createRun('to-cancel');
    await h.client.cancelJobRun({ jobRunId: run.id });
    await waitFor(run.id, 'canceljobrun.end');
    await barrier();
    expect(typesOf(run.id)).toEqual([
      'createjobrun.begin',
      'canceljobrun.begin',
      'canceljobrun.end',
      'createjobrun.end',
    ]);
    const got = await h.client.getJobRun({ jobRunId: run.id });
    expect(got.jobRun.lifecycleState).toBe(models.JobRunLifecycleState.Canceled);
  });

  it('sends createjobrun.end at once for a run forced to FAILED, and not again at its planned end', async () => {
    const run = await createRun('forced');
    h.ds.control.forceJobRunState(run.id, 'FAILED', 'container exited with code 137');
    await waitFor(run.id, 'createjobrun.end');
    await barrier();
    expect(typesOf(run.id)).toEqual(['createjobrun.begin', 'createjobrun.end']);
    const got = await h.client.getJobRun({ jobRunId: run.id });
    expect(got.jobRun.lifecycleState).toBe(models.JobRunLifecycleState.Failed);
  });

  it('sends createmodeldeployment.begin and createmodeldeployment.end when the deployment is ACTIVE', async () => {
    const model = await h.client.createModel({
      createModelDetails: { compartmentId, projectId, displayName: 'ft-model' },
    });
    const created = await h.client.createModelDeployment({
      createModelDeploymentDetails: {
        projectId,
        compartmentId,
        displayName: 'chat',
        freeformTags: { workflow: 'support-bot' },
        modelDeploymentConfigurationDetails: {
          deploymentType: 'SINGLE_MODEL',
          modelConfigurationDetails: {
            modelId: model.model.id,
            instanceConfiguration: { instanceShapeName: 'VM.GPU.A10.2' },
          },
        } as models.SingleModelDeploymentConfigurationDetails,
      },
    });
    const id = created.modelDeployment.id;
    await waitFor(id, 'createmodeldeployment.end');
    const got = await h.client.getModelDeployment({ modelDeploymentId: id });
    expect(got.modelDeployment.lifecycleState).toBe(models.ModelDeploymentLifecycleState.Active);
    expect(typesOf(id)).toEqual(['createmodeldeployment.begin', 'createmodeldeployment.end']);
    const end = eventsOf(id)[1];
    expect(end?.functionId).toBe(fnDeployments);
    expect(end?.event.data).toMatchObject({
      resourceId: id,
      resourceName: 'chat',
      freeFormTags: { workflow: 'support-bot' },
    });
  });

  it('sends nothing to anyone for an event no rule matches, and the API works as before', async () => {
    const run = await createRun('to-delete');
    await waitFor(run.id, 'createjobrun.end');
    const deleted = await h.client.deleteJobRun({ jobRunId: run.id });
    expect(deleted.opcRequestId).toBeTruthy();
    await barrier();
    expect(typesOf(run.id)).toEqual(['createjobrun.begin', 'createjobrun.end']);
    expect(h.emu.eventDeliveries().filter((d) => d.eventType === `${PREFIX}deletejobrun`)).toEqual(
      [],
    );
  });
});

describe('Data Science events without any Events rule', () => {
  it('runs a job and a deployment to their end with no delivery at all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dacflow-ds-noevents-'));
    const h = await startHarness(dir, { requireModelArtifact: false });
    let invoked = 0;
    h.emu.setInvoker(async () => {
      invoked += 1;
      return { status: 200, body: Buffer.from('{}') };
    });
    // The services call the context's emitEvent at emit time: record what was published.
    const published: string[] = [];
    const emit = h.emu.context.emitEvent;
    h.emu.context.emitEvent = (e) => {
      published.push(e.eventType.replace(PREFIX, ''));
      emit(e);
    };
    try {
      const compartmentId = h.emu.compartmentId;
      const waiters = h.client.createWaiters(waiterConfig);
      const projectId = (await h.client.createProject({ createProjectDetails: { compartmentId } }))
        .project.id;
      const job = await h.client.createJob({
        createJobDetails: {
          projectId,
          compartmentId,
          jobInfrastructureConfigurationDetails: {
            jobInfrastructureType: 'ME_STANDALONE',
            shapeName: 'VM.GPU.A10.2',
            blockStorageSizeInGBs: 256,
          } as models.ManagedEgressStandaloneJobInfrastructureConfigurationDetails,
        },
      });
      const run = await h.client.createJobRun({
        createJobRunDetails: { projectId, compartmentId, jobId: job.job.id },
      });
      const model = await h.client.createModel({
        createModelDetails: { compartmentId, projectId },
      });
      const md = await h.client.createModelDeployment({
        createModelDeploymentDetails: {
          projectId,
          compartmentId,
          modelDeploymentConfigurationDetails: {
            deploymentType: 'SINGLE_MODEL',
            modelConfigurationDetails: {
              modelId: model.model.id,
              instanceConfiguration: { instanceShapeName: 'VM.GPU.A10.2' },
            },
          } as models.SingleModelDeploymentConfigurationDetails,
        },
      });
      await waiters.forJobRun({ jobRunId: run.jobRun.id }, models.JobRunLifecycleState.Succeeded);
      await waiters.forModelDeployment(
        { modelDeploymentId: md.modelDeployment.id },
        models.ModelDeploymentLifecycleState.Active,
      );
      // The waiters saw the end states, so both ends were published; give their delivery (which
      // runs on the next turn of the event loop) a turn.
      expect(published.sort()).toEqual([
        'createjobrun.begin',
        'createjobrun.end',
        'createmodeldeployment.begin',
        'createmodeldeployment.end',
      ]);
      await new Promise((r) => setTimeout(r, 10));
      expect(h.emu.eventDeliveries()).toEqual([]);
      expect(invoked).toBe(0);
    } finally {
      await h.emu.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
