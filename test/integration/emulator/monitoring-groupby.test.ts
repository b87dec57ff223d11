/**
 * MQL grouping functions in the Monitoring emulator through the real MonitoringClient:
 * summarizeMetricsData results per group, alarm query validation, and a grouped (not split) alarm
 * over a groupBy query, on a manually stepped clock.
 */
import * as common from 'oci-common';
import { MonitoringClient, models } from 'oci-monitoring';
import { NotificationControlPlaneClient } from 'oci-ons';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '#local/emulator/index.ts';
import { monitoringService, type MonitoringService } from '#local/emulator/monitoring.ts';
import { startTest } from './helpers.ts';

const MIN = 1000;
const NS = 'oci_datascience_modeldeploy';
const A = 'ocid1.datasciencemodeldeployment.oc1.us-chicago-1.aaaa';
const B = 'ocid1.datasciencemodeldeployment.oc1.us-chicago-1.bbbb';
// Minute-aligned; the signature uses real time, the Monitoring emulator this clock.
const clock = { ms: Math.floor(Date.now() / MIN) * MIN - 100 * MIN };

let emu: Emulator;
let cleanup: () => Promise<void>;
let mon: MonitoringService;
let client: MonitoringClient;
let topicId: string;

beforeAll(async () => {
  mon = monitoringService({ minuteMs: MIN, autoTick: false, now: () => new Date(clock.ms) });
  ({ emu, cleanup } = await startTest({ services: [mon] }));
  const authenticationDetailsProvider = new common.ConfigFileAuthenticationDetailsProvider(
    emu.configFile,
    emu.profile,
  );
  client = new MonitoringClient(
    { authenticationDetailsProvider },
    { retryConfiguration: { terminationStrategy: new common.MaxAttemptsTerminationStrategy(1) } },
  );
  client.endpoint = emu.url;
  const ons = new NotificationControlPlaneClient({ authenticationDetailsProvider });
  ons.endpoint = emu.url;
  topicId = (
    await ons.createTopic({
      createTopicDetails: { name: 'groupby-alarms', compartmentId: emu.compartmentId },
    })
  ).notificationTopic.topicId;
});
afterAll(async () => cleanup?.());

/** Service metrics as Data Science posts them (oci_ namespaces are closed to postMetricData). */
function ingest(
  name: string,
  dimensions: Record<string, string>,
  values: number[],
  t: number,
  metadata?: Record<string, string>,
) {
  mon.control.ingest([
    {
      namespace: NS,
      compartmentId: emu.compartmentId,
      name,
      dimensions,
      ...(metadata ? { metadata } : {}),
      datapoints: values.map((value, i) => ({ timestampMs: t + i, value })),
    },
  ]);
}

async function status(p: Promise<unknown>): Promise<{ statusCode: number; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { statusCode: number; message: string };
  }
  throw new Error('expected the call to fail');
}

describe('summarizeMetricsData with grouping functions', () => {
  const base = clock.ms - 20 * MIN;
  const summarize = async (query: string) =>
    (
      await client.summarizeMetricsData({
        compartmentId: emu.compartmentId,
        summarizeMetricsDataDetails: {
          namespace: NS,
          query,
          startTime: new Date(base),
          endTime: new Date(base + 3 * MIN),
        },
      })
    ).items;
  const series = (item: models.MetricData) =>
    item.aggregatedDatapoints.map((p) => [new Date(p.timestamp).getTime() - base, p.value]);

  beforeAll(() => {
    for (let m = 0; m < 3; m++) {
      const t = base + m * MIN + 100;
      ingest('GPUCoreUtilization', { resourceId: A, instanceId: 'a1' }, [20 + m], t, {
        unit: 'percent',
      });
      ingest('GPUCoreUtilization', { resourceId: A, instanceId: 'a2' }, [40 + m], t);
      ingest('GPUCoreUtilization', { resourceId: B, instanceId: 'b1' }, [70], t);
      // A serves 99 fast predictions and one slow one per minute; B only fast ones.
      ingest('PredictLatency', { resourceId: A, result: 'Success' }, Array(98).fill(100), t);
      ingest('PredictLatency', { resourceId: A, result: 'Failure' }, [9000, 100 * (m + 1)], t);
      ingest('PredictLatency', { resourceId: B, result: 'Success' }, Array(100).fill(200), t);
    }
  });

  it('returns one item per resourceId with only that dimension and the mean of its instances', async () => {
    const items = await summarize('GPUCoreUtilization[1m].groupBy(resourceId).mean()');
    expect(items.map((i) => i.dimensions)).toEqual([{ resourceId: A }, { resourceId: B }]);
    expect(items.map((i) => [i.namespace, i.name, i.compartmentId])).toEqual([
      [NS, 'GPUCoreUtilization', emu.compartmentId],
      [NS, 'GPUCoreUtilization', emu.compartmentId],
    ]);
    // Grouped results carry no per-stream metadata.
    expect(items[0]!.metadata).toBeUndefined();
    expect(series(items[0]!)).toEqual([
      [0, 30],
      [MIN, 31],
      [2 * MIN, 32],
    ]);
    expect(series(items[1]!)).toEqual([
      [0, 70],
      [MIN, 70],
      [2 * MIN, 70],
    ]);
    // Without grouping, every instance is its own item with its own dimensions and metadata.
    const raw = await summarize('GPUCoreUtilization[1m].mean()');
    expect(raw.map((i) => i.dimensions)).toEqual([
      { resourceId: A, instanceId: 'a1' },
      { resourceId: A, instanceId: 'a2' },
      { resourceId: B, instanceId: 'b1' },
    ]);
    expect(raw[0]!.metadata).toEqual({ unit: 'percent' });
  });

  it('takes the percentile across every sample of a group, and grouping() merges all', async () => {
    const p99 = await summarize('PredictLatency[1m].groupBy(resourceId).percentile(0.99)');
    expect(p99.map((i) => i.dimensions)).toEqual([{ resourceId: A }, { resourceId: B }]);
    // Per minute A has 100 samples: 98 + one at 100*(m+1) under 9000, so rank 99 is 100*(m+1)
    // for m >= 1 and 100 for m = 0; the Failure stream alone would give 9000.
    expect(series(p99[0]!).map(([, v]) => v)).toEqual([100, 200, 300]);
    expect(series(p99[1]!).map(([, v]) => v)).toEqual([200, 200, 200]);
    const max = await summarize('PredictLatency[1m]{resourceId = "' + A + '"}.grouping().max()');
    expect(max).toHaveLength(1);
    expect(max[0]!.dimensions).toEqual({});
    expect(series(max[0]!).map(([, v]) => v)).toEqual([9000, 9000, 9000]);
    const count = await summarize('PredictLatency[3m].grouping().count()');
    expect(series(count[0]!)[0]).toEqual([0, 600]);
    // The condition applies to the grouped value; a groupBy dimension no stream has yields nothing.
    const breached = await summarize('GPUCoreUtilization[1m].groupBy(resourceId).mean() > 30.5');
    expect(breached.map((i) => [i.dimensions, series(i).map(([, v]) => v)])).toEqual([
      [{ resourceId: A }, [31, 32]],
      [{ resourceId: B }, [70, 70, 70]],
    ]);
    expect(await summarize('GPUCoreUtilization[1m].groupBy(faultDomain).mean()')).toEqual([]);
  });

  it('answers a malformed grouping with 400 InvalidParameter and the position', async () => {
    for (const [query, message] of [
      ['GPUCoreUtilization[1m].groupBy().mean()', 'at least one dimension name at position 31'],
      ['GPUCoreUtilization[1m].groupBy(a, a).mean()', 'appears twice in groupBy() at position 34'],
      ['GPUCoreUtilization[1m].groupBy(a).grouping().mean()', 'one grouping function'],
    ] as const) {
      const e = await status(
        client.summarizeMetricsData({
          compartmentId: emu.compartmentId,
          summarizeMetricsDataDetails: { namespace: NS, query },
        }),
      );
      expect(e).toMatchObject({ statusCode: 400, serviceCode: 'InvalidParameter' });
      expect(e.message).toContain(message);
    }
  });
});

describe('a grouped alarm over a groupBy query', () => {
  it('accepts groupBy in an alarm query and rejects a malformed one', async () => {
    const e = await status(
      client.createAlarm({
        createAlarmDetails: details(
          'bad',
          'GPUCoreUtilization[5m].grouping(resourceId).mean() < 30',
        ),
      }),
    );
    expect(e.statusCode).toBe(400);
    expect(e.message).toContain('grouping() takes no arguments');
    const { alarm } = await client.createAlarm({
      createAlarmDetails: details('ok', 'GPUCoreUtilization[5m].groupBy(resourceId).mean() < 30'),
    });
    expect(alarm.query).toBe('GPUCoreUtilization[5m].groupBy(resourceId).mean() < 30');
    await client.deleteAlarm({ alarmId: alarm.id });
  });

  it('keeps one state for the alarm: one OK_TO_FIRING, one FIRING_TO_OK naming both', async () => {
    const query = 'GPUCoreUtilization[1m].groupBy(resourceId).mean() < 30';
    const { alarm } = await client.createAlarm({
      createAlarmDetails: details('grouped', query, { pendingDuration: 'PT1M' }),
    });
    const types: string[] = [];
    // A breaches from minute 0 (two instances: mean 20), B from minute 2; A recovers at 3, B at 4.
    const plan: [number[], number][] = [
      [[10, 30], 80],
      [[10, 30], 80],
      [[10, 30], 5],
      [[40, 60], 5],
      [[40, 60], 80],
    ];
    for (const [a, b] of plan) {
      ingest('GPUCoreUtilization', { resourceId: A, instanceId: 'g1' }, [a[0]!], clock.ms + 100);
      ingest('GPUCoreUtilization', { resourceId: A, instanceId: 'g2' }, [a[1]!], clock.ms + 100);
      ingest('GPUCoreUtilization', { resourceId: B, instanceId: 'g3' }, [b], clock.ms + 100);
      clock.ms += MIN;
      const before = mon.control.published().length;
      await mon.control.tick();
      const fresh = mon.control
        .published()
        .slice(before)
        .filter((p) => p.alarmId === alarm.id);
      types.push(fresh.map((p) => p.type).join('+') || '-');
    }
    expect(types).toEqual(['OK_TO_FIRING', '-', '-', '-', 'FIRING_TO_OK']);
    const [fire, ok] = mon.control
      .published()
      .filter((p) => p.alarmId === alarm.id)
      .map((p) => JSON.parse(p.body));
    expect(fire.notificationType).toBe('Grouped messages across metric streams');
    expect(fire.alarmMetaData[0]).toMatchObject({
      status: 'FIRING',
      totalMetricsFiring: 1,
      dimensions: [{ resourceId: A }],
      metricValues: [{ 'GPUCoreUtilization[1m].groupBy(resourceId).mean()': '20' }],
    });
    expect(ok.alarmMetaData[0]).toMatchObject({
      status: 'OK',
      totalMetricsFiring: 0,
      dimensions: [{ resourceId: A }, { resourceId: B }],
      metricValues: [
        { 'GPUCoreUtilization[1m].groupBy(resourceId).mean()': '50' },
        { 'GPUCoreUtilization[1m].groupBy(resourceId).mean()': '80' },
      ],
    });
    expect(ok.dedupeKey).toBe(fire.dedupeKey);
    await client.deleteAlarm({ alarmId: alarm.id });
  });
});

function details(
  displayName: string,
  query: string,
  over: Partial<models.CreateAlarmDetails> = {},
): models.CreateAlarmDetails {
  return {
    displayName,
    compartmentId: emu.compartmentId,
    metricCompartmentId: emu.compartmentId,
    namespace: NS,
    query,
    severity: models.Alarm.Severity.Warning,
    destinations: [topicId],
    isEnabled: true,
    ...over,
  };
}
