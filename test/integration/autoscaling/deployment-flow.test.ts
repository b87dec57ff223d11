/**
 * Autoscaling Data Science model deployments in the emulator: a workflow's deployment alarms (one
 * per rule over the whole compartment, grouped by resourceId and split per stream, created through
 * the real MonitoringClient as Terraform would) fire on the deployments' own metrics; Notifications
 * delivers each stream's message to the scale-dac use case, which resizes exactly the deployment
 * that fired through the real DataScienceClient. Monitoring minutes are stepped by hand.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as common from 'oci-common';
import type { models } from 'oci-datascience';
import { DataScienceClient } from 'oci-datascience';
import { GenerativeAiClient } from 'oci-generativeai';
import { MonitoringClient } from 'oci-monitoring';
import { NotificationControlPlaneClient, NotificationDataPlaneClient } from 'oci-ons';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dataScienceService,
  type DataScienceEmulatorService,
} from '#local/emulator/datascience.ts';
import {
  startDeploymentDemand,
  type DemandHandle,
  type DeploymentDemandMinute,
} from '#local/emulator/demand.ts';
import { startEmulator, type Emulator } from '#local/emulator/index.ts';
import { monitoringService, type MonitoringService } from '#local/emulator/monitoring.ts';
import { createScalingAlarms } from '#local/emulator/monitoring-scenario.ts';
import { silentLogger } from '#shared/log.ts';
import {
  handleAlarm,
  policyFromAutoscaling,
  type ScaleDeps,
  type ScaleResult,
} from '#shared/pipeline/scale.ts';
import { deploymentAlarmDefinitions } from '#shared/scaling/alarm-definitions.ts';
import { createClusterRepository } from '#shared/state/clusters.ts';
import { MemoryStore } from '#shared/state/memory.ts';
import { parseWorkflows } from '#workflows/schema.ts';

const MIN = 60_000;
const PROJECT = 'ocid1.datascienceproject.oc1..autoscale';
const FUNCTION_ID = 'ocid1.fnfunc.oc1..scale-dac';
const T0 = Math.floor(Date.now() / MIN) * MIN - 60 * MIN;

const workflow = parseWorkflows([
  {
    fileName: 'aqua.yaml',
    text: `name: aqua
backend: datascience
trigger:
  bucket: datasets
  prefix: aqua/
datascience:
  projectId: ${PROJECT}
  baseModel: llama-ft
  shape: VM.GPU.A10.2
  training:
    epochs: 1
  outputBucket: models
  deployment:
    shape: VM.GPU.A10.1
    instanceCount: 1
autoscaling:
  minUnits: 1
  maxUnits: 3
  maxStepUnits: 1
  scaleUpCooldownSec: 0
  scaleDownCooldownSec: 0
`,
  },
])[0]!;

let dir: string;
let emu: Emulator;
let ds: DataScienceEmulatorService;
let mon: MonitoringService;
let client: DataScienceClient;
let demand: DemandHandle<DeploymentDemandMinute>;
const clock = { ms: T0 };
const results: ScaleResult[] = [];
const deliveries: { resourceIds: string[]; type: string }[] = [];
const ids = { hot: '', calm: '', foreign: '' };

const instancesOf = async (id: string) => {
  const md = (await client.getModelDeployment({ modelDeploymentId: id })).modelDeployment;
  const cfg =
    md.modelDeploymentConfigurationDetails as models.SingleModelDeploymentConfigurationDetails;
  return (cfg.modelConfigurationDetails.scalingPolicy as models.FixedSizeScalingPolicy)
    .instanceCount;
};

/** Ends the next emulated minute and waits until Notifications has delivered its messages. */
async function minute(): Promise<void> {
  clock.ms += MIN;
  const published = mon.control.published().length;
  const handled = results.length;
  await mon.control.tick();
  const want = handled + mon.control.published().length - published;
  const deadline = Date.now() + 10_000;
  while (results.length < want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dacflow-md-autoscale-'));
  ds = dataScienceService({
    // ACTIVE at once; a live resize stays UPDATING until the test settles it.
    deploymentCreateMs: 0,
    deploymentUpdateMs: 3_600_000,
    seedProjects: [{ id: PROJECT }],
    seedModels: [{ displayName: 'llama-ft', projectId: PROJECT }],
  });
  mon = monitoringService({ minuteMs: MIN, autoTick: false, now: () => new Date(clock.ms) });
  emu = await startEmulator({ dataDir: dir, fast: true, services: [ds, mon] });
  const authenticationDetailsProvider = new common.ConfigFileAuthenticationDetailsProvider(
    emu.configFile,
    emu.profile,
  );
  const make = <T extends { endpoint: string }>(C: new (p: common.AuthParams) => T): T => {
    const c = new C({ authenticationDetailsProvider });
    c.endpoint = emu.url;
    return c;
  };
  client = make(DataScienceClient);
  const compartmentId = emu.compartmentId;

  const modelId = (await client.listModels({ compartmentId, displayName: 'llama-ft' })).items[0]!
    .id;
  const create = async (displayName: string, tags: Record<string, string>) =>
    (
      await client.createModelDeployment({
        createModelDeploymentDetails: {
          projectId: PROJECT,
          compartmentId,
          displayName,
          freeformTags: tags,
          modelDeploymentConfigurationDetails: {
            deploymentType: 'SINGLE_MODEL',
            modelConfigurationDetails: {
              modelId,
              instanceConfiguration: { instanceShapeName: 'VM.GPU.A10.1' },
              scalingPolicy: { policyType: 'FIXED_SIZE', instanceCount: 1 },
            },
          } as models.SingleModelDeploymentConfigurationDetails,
        },
      })
    ).modelDeployment.id;
  ids.hot = await create('dacflow-hot', { dacflowWorkflow: 'aqua', dacflowRunId: 'r1' });
  ids.calm = await create('dacflow-calm', { dacflowWorkflow: 'aqua', dacflowRunId: 'r2' });
  ids.foreign = await create('someone-elses', {});

  const onsCp = make(NotificationControlPlaneClient);
  const onsDp = make(NotificationDataPlaneClient);
  const topicId = (
    await onsCp.createTopic({ createTopicDetails: { name: 'alarms', compartmentId } })
  ).notificationTopic.topicId;
  await onsDp.createSubscription({
    createSubscriptionDetails: {
      topicId,
      compartmentId,
      protocol: 'ORACLE_FUNCTIONS',
      endpoint: FUNCTION_ID,
    },
  });
  await createScalingAlarms(make(MonitoringClient), {
    // Test-sized: a firing stream repeats every minute.
    definitions: deploymentAlarmDefinitions(policyFromAutoscaling(workflow.autoscaling!), 'aqua', {
      repeatMin: 1,
    }),
    compartmentId,
    topicId,
    namePrefix: 'dacflow-aqua-deployments',
  });

  const deps: ScaleDeps = {
    genai: make(GenerativeAiClient),
    datascience: client,
    clusters: createClusterRepository(new MemoryStore({ tick: async () => {} }), {
      random: () => 0.5,
      sleep: async () => {},
    }),
    workflows: [workflow],
    notify: async () => {},
    now: () => new Date(clock.ms),
    log: silentLogger,
    // Two rules' messages for one deployment often arrive together: the second waits its turn.
    leaseWaitMs: 5_000,
  };
  let calls = 0;
  emu.setInvoker(async (id, body) => {
    if (id !== FUNCTION_ID) return { status: 404, body: Buffer.from('{}') };
    const msg = JSON.parse(body.toString('utf8')) as {
      type: string;
      alarmMetaData: { dimensions: { resourceId: string }[] }[];
    };
    deliveries.push({
      type: msg.type,
      resourceIds: msg.alarmMetaData.flatMap((m) => m.dimensions.map((d) => d.resourceId)),
    });
    const r = await handleAlarm(deps, body.toString('utf8'), {
      token: `call-${++calls}`,
      remainingMs: 30_000,
    });
    results.push(r);
    return { status: 200, body: Buffer.from(JSON.stringify(r)) };
  });

  // One instance serves 1,500 tokens/s (the policy default): the hot deployment is saturated,
  // the calm one at 60% (between the scale-down and scale-up lines), the foreign one saturated.
  const tps: Record<string, number> = { [ids.hot]: 3000, [ids.calm]: 900, [ids.foreign]: 3000 };
  demand = startDeploymentDemand({
    monitoring: mon,
    datascience: ds,
    profile: (_m, id) => tps[id] ?? 0,
  });
});

afterAll(async () => {
  demand?.stop();
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('model deployment autoscaling', () => {
  it('resizes only the deployment whose stream fired, and leaves the others alone', async () => {
    for (let i = 0; i < 3 && (await instancesOf(ids.hot)) === 1; i++) await minute();

    // Every message the function got named one deployment (split per stream).
    expect(deliveries.length).toBeGreaterThan(0);
    for (const d of deliveries) expect(new Set(d.resourceIds).size).toBe(1);
    const firedFor = new Set(deliveries.flatMap((d) => d.resourceIds));
    expect(firedFor).toContain(ids.hot);
    expect(firedFor).toContain(ids.foreign);
    expect(firedFor).not.toContain(ids.calm);

    const scaled = results.filter((r) => r.outcome === 'SCALED');
    expect(scaled).toEqual([
      expect.objectContaining({
        clusterId: ids.hot,
        resourceKind: 'MODEL_DEPLOYMENT',
        workflow: 'aqua',
        fromUnits: 1,
        toUnits: 2,
      }),
    ]);
    expect(await instancesOf(ids.hot)).toBe(2);
    expect(await instancesOf(ids.calm)).toBe(1);
    expect(await instancesOf(ids.foreign)).toBe(1);
    expect(
      results.filter((r) => r.clusterId === ids.foreign).map((r) => [r.outcome, r.code]),
    ).toContainEqual(['IGNORED', 'DEPLOYMENT_NOT_MANAGED']);
  });

  it('waits while the deployment is UPDATING, then scales again up to maxUnits and no further', async () => {
    const md = (await client.getModelDeployment({ modelDeploymentId: ids.hot })).modelDeployment;
    expect(md.lifecycleState).toBe('UPDATING');
    const before = results.length;
    // Still saturated: the REPEATs while UPDATING change nothing.
    for (let i = 0; i < 2; i++) await minute();
    const whileUpdating = results.slice(before).filter((r) => r.clusterId === ids.hot);
    expect(whileUpdating.length).toBeGreaterThan(0);
    for (const r of whileUpdating) {
      expect(r.outcome).toBe('NO_ACTION');
      expect(r.reason).toContain('UPDATING');
    }
    expect(await instancesOf(ids.hot)).toBe(2);

    ds.control.forceDeploymentState(ids.hot, 'ACTIVE');
    for (let i = 0; i < 6 && (await instancesOf(ids.hot)) < 3; i++) await minute();
    expect(await instancesOf(ids.hot)).toBe(3);
    ds.control.forceDeploymentState(ids.hot, 'ACTIVE');
    // At maxUnits with demand still over capacity: no action beyond the bound.
    for (let i = 0; i < 3; i++) await minute();
    expect(await instancesOf(ids.hot)).toBe(3);
    for (const r of results.filter((x) => x.outcome === 'SCALED')) {
      expect(r.toUnits).toBeLessThanOrEqual(3);
      expect(Math.abs(r.toUnits! - r.fromUnits!)).toBe(1);
    }
  });
});
