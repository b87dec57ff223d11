/**
 * Synthetic demand on Data Science model deployments, end to end: deployments created, updated
 * and deactivated through the real DataScienceClient, demand metrics read back through the real
 * MonitoringClient's summarizeMetricsData. The Monitoring minutes are stepped by hand on a fixed
 * clock, so no test waits for a minute to pass.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as common from 'oci-common';
import { DataScienceClient, models } from 'oci-datascience';
import { MonitoringClient } from 'oci-monitoring';
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
import { defaultCapacityModel, p99LatencyMs, utilizationPct } from '#shared/scaling/capacity.ts';
import { fastDelays, waiterConfig } from './helpers.ts';

const MIN = 60_000;
const PROJECT = 'ocid1.datascienceproject.oc1..demand';
const TPS = 2_400;
const MdState = models.ModelDeploymentLifecycleState;
// A minute-aligned clock for the Monitoring service; requests are still signed with real time.
const T0 = Math.floor(Date.now() / MIN) * MIN - 30 * MIN;

let dir: string;
let emu: Emulator;
let ds: DataScienceEmulatorService;
let mon: MonitoringService;
let client: DataScienceClient;
let monitoring: MonitoringClient;
let demand: DemandHandle<DeploymentDemandMinute>;
let compartmentId: string;
const clock = { ms: T0 };
const ids: Record<'a' | 'b' | 'failed', string> = { a: '', b: '', failed: '' };
let minutesRun = 0;

/** Ends the next emulated minute: the generator emits it. Returns that minute's start. */
async function endMinute(): Promise<number> {
  minutesRun++;
  clock.ms = T0 + minutesRun * MIN;
  // The service runs the minute that ended at the last boundary of its clock: this one.
  await mon.control.tick();
  return clock.ms - MIN;
}

/** One value per stream (keyed by instanceId, or `-`) in the minute starting at `startMs`. */
async function read(query: string, startMs: number): Promise<Record<string, number>> {
  const items = (
    await monitoring.summarizeMetricsData({
      compartmentId,
      summarizeMetricsDataDetails: {
        namespace: 'oci_datascience_modeldeploy',
        query,
        startTime: new Date(startMs),
        endTime: new Date(startMs + MIN),
      },
    })
  ).items;
  return Object.fromEntries(
    items.map((i) => {
      expect(i.aggregatedDatapoints).toHaveLength(1);
      return [i.dimensions.instanceId ?? '-', i.aggregatedDatapoints[0]!.value];
    }),
  );
}

const instanceCount = (n: number): models.FixedSizeScalingPolicy => ({
  policyType: 'FIXED_SIZE',
  instanceCount: n,
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dacflow-ds-demand-'));
  ds = dataScienceService({
    ...fastDelays,
    // ACTIVE at once; a live update stays UPDATING (1 hour, 36 s with `fast`) until forced.
    deploymentCreateMs: 0,
    deploymentUpdateMs: 3_600_000,
    failDeploymentDisplayNames: ['md-failed'],
    seedProjects: [{ id: PROJECT }],
    seedModels: [{ displayName: 'llama-ft', projectId: PROJECT }],
  });
  mon = monitoringService({ minuteMs: MIN, autoTick: false, now: () => new Date(clock.ms) });
  emu = await startEmulator({ dataDir: dir, fast: true, services: [ds, mon] });
  compartmentId = emu.compartmentId;
  const authenticationDetailsProvider = new common.ConfigFileAuthenticationDetailsProvider(
    emu.configFile,
    emu.profile,
  );
  const noRetry = { retryConfiguration: common.NoRetryConfigurationDetails };
  client = new DataScienceClient({ authenticationDetailsProvider }, noRetry);
  client.endpoint = emu.url;
  monitoring = new MonitoringClient({ authenticationDetailsProvider }, noRetry);
  monitoring.endpoint = emu.url;

  const modelId = (await client.listModels({ compartmentId, displayName: 'llama-ft' })).items[0]!
    .id;
  const create = async (displayName: string, instances: number) =>
    (
      await client.createModelDeployment({
        createModelDeploymentDetails: {
          projectId: PROJECT,
          compartmentId,
          displayName,
          modelDeploymentConfigurationDetails: {
            deploymentType: 'SINGLE_MODEL',
            modelConfigurationDetails: {
              modelId,
              instanceConfiguration: { instanceShapeName: 'VM.GPU.A10.2' },
              scalingPolicy: instanceCount(instances),
            },
          } as models.SingleModelDeploymentConfigurationDetails,
        },
      })
    ).modelDeployment.id;
  ids.a = await create('md-a', 2);
  ids.b = await create('md-b', 1);
  ids.failed = await create('md-failed', 1);
  const b = await client.getModelDeployment({ modelDeploymentId: ids.b });
  await client.deactivateModelDeployment({ modelDeploymentId: ids.b, ifMatch: b.etag });
  await client
    .createWaiters(waiterConfig)
    .forModelDeployment({ modelDeploymentId: ids.b }, MdState.Inactive);

  demand = startDeploymentDemand({ monitoring: mon, datascience: ds, profile: () => TPS });
});

afterAll(async () => {
  demand?.stop();
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('deploymentUnits()', () => {
  it('lists every deployment with its current state and configured instance count', () => {
    const units = ds.control.deploymentUnits();
    expect(
      units.map((u) => [u.id, u.displayName, u.lifecycleState, u.instanceCount]).sort(),
    ).toEqual(
      [
        [ids.a, 'md-a', 'ACTIVE', 2],
        [ids.b, 'md-b', 'INACTIVE', 1],
        [ids.failed, 'md-failed', 'FAILED', 1],
      ].sort(),
    );
    expect(units.every((u) => u.compartmentId === compartmentId)).toBe(true);
  });
});

describe('startDeploymentDemand through summarizeMetricsData', () => {
  let firstMinuteMs: number;

  it('gives a 2-instance deployment one GPUCoreUtilization stream per instance, its P99 and request count', async () => {
    firstMinuteMs = await endMinute();
    const a = `resourceId = "${ids.a}"`;
    const util = utilizationPct(TPS, 2, defaultCapacityModel);
    expect(util).toBe(80);
    expect(await read(`GPUCoreUtilization[1m]{${a}}.mean()`, firstMinuteMs)).toEqual({
      [`${ids.a}-i0`]: util,
      [`${ids.a}-i1`]: util,
    });
    // Filtering on one instance finds just that stream.
    expect(
      await read(`GPUCoreUtilization[1m]{${a}, instanceId = "${ids.a}-i1"}.max()`, firstMinuteMs),
    ).toEqual({ [`${ids.a}-i1`]: util });
    expect(
      await read(`PredictLatency[1m]{${a}, result = "Success"}.mean()`, firstMinuteMs),
    ).toEqual({
      '-': p99LatencyMs(TPS, 2),
    });
    expect(await read(`PredictRequestCount[1m]{${a}}.sum()`, firstMinuteMs)).toEqual({
      '-': (TPS * 60) / defaultCapacityModel.tokensPerRequest,
    });
  });

  it('gives INACTIVE and FAILED deployments no metrics', async () => {
    for (const id of [ids.b, ids.failed]) {
      for (const metric of ['PredictRequestCount', 'PredictLatency', 'GPUCoreUtilization']) {
        expect(await read(`${metric}[1m]{resourceId = "${id}"}.count()`, firstMinuteMs)).toEqual(
          {},
        );
      }
    }
    expect(demand.history().map((r) => r.deploymentId)).toEqual([ids.a]);
  });

  it('keeps the old instance count serving during a live update until the deployment is ACTIVE', async () => {
    const current = await client.getModelDeployment({ modelDeploymentId: ids.a });
    await client.updateModelDeployment({
      modelDeploymentId: ids.a,
      ifMatch: current.etag,
      updateModelDeploymentDetails: {
        modelDeploymentConfigurationDetails: {
          deploymentType: 'SINGLE_MODEL',
          modelConfigurationDetails: {
            modelId: (
              current.modelDeployment
                .modelDeploymentConfigurationDetails as models.SingleModelDeploymentConfigurationDetails
            ).modelConfigurationDetails.modelId,
            scalingPolicy: instanceCount(4),
          },
        } as models.UpdateSingleModelDeploymentConfigurationDetails,
      },
    });
    expect(ds.control.deploymentUnits().find((u) => u.id === ids.a)).toMatchObject({
      lifecycleState: 'UPDATING',
      instanceCount: 4,
    });
    const a = `resourceId = "${ids.a}"`;
    const updating = await endMinute();
    const two = utilizationPct(TPS, 2, defaultCapacityModel);
    expect(await read(`GPUCoreUtilization[1m]{${a}}.mean()`, updating)).toEqual({
      [`${ids.a}-i0`]: two,
      [`${ids.a}-i1`]: two,
    });
    expect(await read(`PredictLatency[1m]{${a}}.mean()`, updating)).toEqual({
      '-': p99LatencyMs(TPS, 2),
    });

    // The update finishes (forced, so the test does not race the emulator's timer).
    ds.control.forceDeploymentState(ids.a, 'ACTIVE');
    const active = await endMinute();
    const four = utilizationPct(TPS, 4, defaultCapacityModel);
    expect(four).toBe(40);
    expect(await read(`GPUCoreUtilization[1m]{${a}}.mean()`, active)).toEqual(
      Object.fromEntries([0, 1, 2, 3].map((k) => [`${ids.a}-i${k}`, four])),
    );
    expect(await read(`PredictLatency[1m]{${a}, result = "Success"}.mean()`, active)).toEqual({
      '-': p99LatencyMs(TPS, 4),
    });
    expect(p99LatencyMs(TPS, 4)).toBeLessThan(p99LatencyMs(TPS, 2));

    expect(
      demand.history().map((r) => [r.minute, r.lifecycleState, r.servingUnits, r.utilizationPct]),
    ).toEqual([
      [0, 'ACTIVE', 2, two],
      [1, 'UPDATING', 2, two],
      [2, 'ACTIVE', 4, four],
    ]);
  });
});
