/**
 * The demand generators' shared minute loop on small in-memory fakes of the Monitoring and Data
 * Science (and GenAI) control surfaces: which deployments get which metrics, the serving instance
 * count during a live update, names and options, and that cluster demand keeps its shape.
 */
import { describe, expect, it } from 'vitest';
import {
  startDemand,
  startDeploymentDemand,
  type DemandMonitoring,
  type DemandProfile,
} from '#local/emulator/demand.ts';
import type { DeploymentUnit } from '#local/emulator/datascience.ts';
import type { MetricInput, MinuteProducer } from '#local/emulator/monitoring.ts';
import { defaultCapacityModel, p99LatencyMs, utilizationPct } from '#shared/scaling/capacity.ts';

const MINUTE_MS = 1_000;
const COMPARTMENT = 'ocid1.compartment.oc1..demand';

/** A Monitoring control that runs producers when the test says a minute has ended. */
function fakeMonitoring(): DemandMonitoring & {
  ingested: MetricInput[];
  endMinute(index: number): void;
} {
  const producers = new Set<MinuteProducer>();
  const ingested: MetricInput[] = [];
  return {
    ingested,
    control: {
      minuteMs: MINUTE_MS,
      onMinute: (p) => {
        producers.add(p);
        return () => producers.delete(p);
      },
      ingest: (m) => void ingested.push(...m),
    },
    endMinute(index) {
      for (const p of producers)
        void p({ startMs: (index - 1) * MINUTE_MS, endMs: index * MINUTE_MS, index });
    },
  };
}

function deployment(id: string, over: Partial<DeploymentUnit> = {}): DeploymentUnit {
  return {
    id,
    displayName: id,
    compartmentId: COMPARTMENT,
    lifecycleState: 'ACTIVE',
    instanceCount: 1,
    ...over,
  };
}

const constant =
  (tps: number): DemandProfile =>
  () =>
    tps;

/** The metrics ingested for one minute (by datapoint time) and one deployment. */
function metricsAt(ingested: readonly MetricInput[], minuteIndex: number, id: string) {
  return ingested.filter(
    (m) =>
      m.dimensions.resourceId === id &&
      m.datapoints.some(
        (d) =>
          d.timestampMs >= (minuteIndex - 1) * MINUTE_MS && d.timestampMs < minuteIndex * MINUTE_MS,
      ),
  );
}

const valueOf = (m: MetricInput | undefined) => m?.datapoints[0]?.value;

describe('startDeploymentDemand', () => {
  it('emits the documented model deployment metrics from the capacity model', () => {
    const mon = fakeMonitoring();
    const units = [deployment('md-a', { instanceCount: 2 })];
    const tps = 2_400;
    const handle = startDeploymentDemand({
      monitoring: mon,
      datascience: { control: { deploymentUnits: () => units } },
      profile: constant(tps),
    });
    mon.endMinute(10);
    handle.stop();

    const emitted = metricsAt(mon.ingested, 10, 'md-a');
    expect(new Set(emitted.map((m) => m.namespace))).toEqual(
      new Set(['oci_datascience_modeldeploy']),
    );
    expect(new Set(emitted.map((m) => m.compartmentId))).toEqual(new Set([COMPARTMENT]));
    // The datapoints sit in the middle of the minute they describe.
    for (const m of emitted)
      expect(m.datapoints).toEqual([{ timestampMs: 9_500, value: m.datapoints[0]!.value }]);

    const requests = emitted.filter((m) => m.name === 'PredictRequestCount');
    expect(requests.map((m) => m.dimensions)).toEqual([{ resourceId: 'md-a' }]);
    expect(valueOf(requests[0])).toBe(
      Math.round((tps * 60) / defaultCapacityModel.tokensPerRequest),
    );

    const latency = emitted.filter((m) => m.name === 'PredictLatency');
    expect(latency.map((m) => m.dimensions)).toEqual([{ resourceId: 'md-a', result: 'Success' }]);
    expect(valueOf(latency[0])).toBe(p99LatencyMs(tps, 2));

    const gpu = emitted.filter((m) => m.name === 'GPUCoreUtilization');
    expect(gpu.map((m) => m.dimensions)).toEqual([
      { resourceId: 'md-a', instanceId: 'md-a-i0' },
      { resourceId: 'md-a', instanceId: 'md-a-i1' },
    ]);
    const expectedUtil = utilizationPct(tps, 2, defaultCapacityModel);
    expect(expectedUtil).toBe(80);
    expect(gpu.map(valueOf)).toEqual([expectedUtil, expectedUtil]);
    expect(emitted).toHaveLength(4);

    expect(handle.history()).toEqual([
      {
        minute: 0,
        id: 'md-a',
        deploymentId: 'md-a',
        tokensPerSecond: tps,
        servingUnits: 2,
        lifecycleState: 'ACTIVE',
        utilizationPct: expectedUtil,
        p99LatencyMs: p99LatencyMs(tps, 2),
        predictRequests: 288,
      },
    ]);
  });

  it('keeps the previous ACTIVE instance count serving while a deployment is UPDATING', () => {
    const mon = fakeMonitoring();
    const a = deployment('md-a', { instanceCount: 2 });
    const units = [a];
    const tps = 2_000;
    const handle = startDeploymentDemand({
      monitoring: mon,
      datascience: { control: { deploymentUnits: () => units } },
      profile: constant(tps),
    });
    mon.endMinute(1);
    // A live update to 4 instances: the emulator reports the configured (new) count at once.
    a.lifecycleState = 'UPDATING';
    a.instanceCount = 4;
    mon.endMinute(2);
    mon.endMinute(3);
    a.lifecycleState = 'ACTIVE';
    mon.endMinute(4);

    expect(handle.history().map((r) => [r.minute, r.lifecycleState, r.servingUnits])).toEqual([
      [0, 'ACTIVE', 2],
      [1, 'UPDATING', 2],
      [2, 'UPDATING', 2],
      [3, 'ACTIVE', 4],
    ]);
    const instances = (minute: number) =>
      metricsAt(mon.ingested, minute, 'md-a')
        .filter((m) => m.name === 'GPUCoreUtilization')
        .map((m) => [m.dimensions.instanceId, valueOf(m)]);
    const two = utilizationPct(tps, 2, defaultCapacityModel);
    const four = utilizationPct(tps, 4, defaultCapacityModel);
    expect(instances(3)).toEqual([
      ['md-a-i0', two],
      ['md-a-i1', two],
    ]);
    // The instances that served before keep their ids; the new ones follow.
    expect(instances(4)).toEqual([
      ['md-a-i0', four],
      ['md-a-i1', four],
      ['md-a-i2', four],
      ['md-a-i3', four],
    ]);
    const latency = (minute: number) =>
      valueOf(metricsAt(mon.ingested, minute, 'md-a').find((m) => m.name === 'PredictLatency'));
    expect(latency(3)).toBe(p99LatencyMs(tps, 2));
    expect(latency(4)).toBe(p99LatencyMs(tps, 4));
    expect(latency(4)).toBeLessThan(latency(3)!);
  });

  it('uses the configured count for a deployment first seen UPDATING (no earlier ACTIVE size)', () => {
    const mon = fakeMonitoring();
    const units = [deployment('md-a', { lifecycleState: 'UPDATING', instanceCount: 3 })];
    const handle = startDeploymentDemand({
      monitoring: mon,
      datascience: { control: { deploymentUnits: () => units } },
      profile: constant(100),
    });
    mon.endMinute(1);
    expect(handle.history().map((r) => r.servingUnits)).toEqual([3]);
  });

  it('gives no metrics to deployments that are not ACTIVE or UPDATING, or not selected', () => {
    const mon = fakeMonitoring();
    const idle = ['CREATING', 'INACTIVE', 'FAILED', 'NEEDS_ATTENTION', 'DELETING', 'DELETED'];
    const units = [
      ...idle.map((s) => deployment(`md-${s}`, { lifecycleState: s })),
      deployment('md-a'),
      deployment('md-other'),
    ];
    const handle = startDeploymentDemand({
      monitoring: mon,
      datascience: { control: { deploymentUnits: () => units } },
      profile: constant(500),
      deploymentIds: ['md-a', ...idle.map((s) => `md-${s}`)],
    });
    mon.endMinute(1);
    expect(new Set(mon.ingested.map((m) => m.dimensions.resourceId))).toEqual(new Set(['md-a']));
    expect(handle.history().map((r) => r.id)).toEqual(['md-a']);
  });

  it('takes every name, the compartment and the capacity model as options', () => {
    const mon = fakeMonitoring();
    const units = [deployment('md-a', { instanceCount: 2 })];
    const capacity = { tokensPerSecondPerUnit: 1_000, tokensPerRequest: 100 };
    startDeploymentDemand({
      monitoring: mon,
      datascience: { control: { deploymentUnits: () => units } },
      profile: constant(1_500),
      compartmentId: 'ocid1.compartment.oc1..metrics',
      namespace: 'dacflow_md',
      requestCountMetric: 'Requests',
      latencyMetric: 'Latency',
      utilizationMetric: 'Gpu',
      resourceDimension: 'deployment',
      resultDimension: 'outcome',
      instanceDimension: 'node',
      capacity,
    });
    mon.endMinute(1);
    const model = { ...defaultCapacityModel, ...capacity };
    expect(
      mon.ingested.map((m) => [m.namespace, m.compartmentId, m.name, m.dimensions, valueOf(m)]),
    ).toEqual([
      ['dacflow_md', 'ocid1.compartment.oc1..metrics', 'Requests', { deployment: 'md-a' }, 900],
      [
        'dacflow_md',
        'ocid1.compartment.oc1..metrics',
        'Latency',
        { deployment: 'md-a', outcome: 'Success' },
        p99LatencyMs(1_500, 2, model),
      ],
      ...[0, 1].map((k) => [
        'dacflow_md',
        'ocid1.compartment.oc1..metrics',
        'Gpu',
        { deployment: 'md-a', node: `md-a-i${k}` },
        75,
      ]),
    ]);
  });

  it('numbers minutes from its first minute, asks the profile per deployment, and stops', () => {
    const mon = fakeMonitoring();
    const units = [deployment('md-a'), deployment('md-b')];
    const asked: [number, string][] = [];
    const handle = startDeploymentDemand({
      monitoring: mon,
      datascience: { control: { deploymentUnits: () => units } },
      profile: (minute, id) => {
        asked.push([minute, id]);
        return id === 'md-a' ? 100 * (minute + 1) : 0;
      },
    });
    mon.endMinute(7);
    mon.endMinute(8);
    handle.stop();
    mon.endMinute(9);
    expect(asked).toEqual([
      [0, 'md-a'],
      [0, 'md-b'],
      [1, 'md-a'],
      [1, 'md-b'],
    ]);
    expect(
      handle.history().map((r) => [r.minute, r.id, r.tokensPerSecond, r.predictRequests]),
    ).toEqual([
      [0, 'md-a', 100, 12],
      [0, 'md-b', 0, 0],
      [1, 'md-a', 200, 24],
      [1, 'md-b', 0, 0],
    ]);
    expect(metricsAt(mon.ingested, 9, 'md-a')).toEqual([]);
  });
});

describe('startDemand on the shared loop', () => {
  it('keeps its metrics and rows, with `id` alongside `clusterId`', () => {
    const mon = fakeMonitoring();
    const clusters = [
      { id: 'c-host', type: 'HOSTING', lifecycleState: 'ACTIVE', unitCount: 2 },
      { id: 'c-ft', type: 'FINE_TUNING', lifecycleState: 'ACTIVE', unitCount: 2 },
    ];
    const handle = startDemand({
      monitoring: mon,
      genai: { control: { clusterUnits: () => clusters } },
      profile: constant(1_500),
      compartmentId: COMPARTMENT,
    });
    mon.endMinute(1);
    clusters[0]!.lifecycleState = 'UPDATING';
    clusters[0]!.unitCount = 3;
    mon.endMinute(2);
    const p99 = p99LatencyMs(1_500, 2);
    expect(
      metricsAt(mon.ingested, 1, 'c-host').map((m) => [
        m.namespace,
        m.name,
        m.dimensions,
        valueOf(m),
      ]),
    ).toEqual([
      ['oci_generativeai', 'InputTokenCount', { resourceId: 'c-host' }, 45_000],
      ['oci_generativeai', 'OutputTokenCount', { resourceId: 'c-host' }, 45_000],
      ['oci_generativeai', 'InvocationLatency', { resourceId: 'c-host' }, p99],
    ]);
    expect(mon.ingested.every((m) => m.dimensions.resourceId === 'c-host')).toBe(true);
    expect(handle.history()).toEqual([
      {
        minute: 0,
        id: 'c-host',
        clusterId: 'c-host',
        tokensPerSecond: 1_500,
        servingUnits: 2,
        lifecycleState: 'ACTIVE',
        utilizationPct: 50,
        p99LatencyMs: p99,
      },
      {
        minute: 1,
        id: 'c-host',
        clusterId: 'c-host',
        tokensPerSecond: 1_500,
        servingUnits: 2,
        lifecycleState: 'UPDATING',
        utilizationPct: 50,
        p99LatencyMs: p99,
      },
    ]);
  });
});
