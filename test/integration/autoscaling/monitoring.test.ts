/**
 * The Monitoring emulator driven through the real MonitoringClient (signed requests, SDK
 * serialization): metric ingestion limits, summarizeMetricsData, alarm CRUD, and the evaluator's
 * OCI-format messages on a manually stepped clock.
 */
import * as common from 'oci-common';
import { MonitoringClient, models } from 'oci-monitoring';
import { NotificationControlPlaneClient, NotificationDataPlaneClient } from 'oci-ons';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitoringService, type MonitoringService } from '#local/emulator/monitoring.ts';
import { formatAlarmBody, parseAlarmMessage, ScalingRule } from '#shared/scaling/alarm.ts';
import { startTest } from '../emulator/helpers.ts';
import type { Emulator } from '#local/emulator/index.ts';

const MIN = 60_000;
const CLUSTER = 'ocid1.generativeaidedicatedaicluster.oc1.us-chicago-1.aaaa1';
// A fixed minute-aligned clock well inside the real signing window (the signature uses real time).
const clock = { ms: Math.floor(Date.now() / MIN) * MIN - 30 * MIN };

let emu: Emulator;
let cleanup: () => Promise<void>;
let mon: MonitoringService;
let client: MonitoringClient;
let topicId: string;

beforeAll(async () => {
  mon = monitoringService({ minuteMs: MIN, autoTick: false, now: () => new Date(clock.ms) });
  ({ emu, cleanup } = await startTest({ fast: false, services: [mon], autoConfirmEmail: true }));
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
      createTopicDetails: { name: 'alarms', compartmentId: emu.compartmentId },
    })
  ).notificationTopic.topicId;
  const onsDp = new NotificationDataPlaneClient({ authenticationDetailsProvider });
  onsDp.endpoint = emu.url;
  await onsDp.createSubscription({
    createSubscriptionDetails: {
      topicId,
      compartmentId: emu.compartmentId,
      protocol: 'EMAIL',
      endpoint: 'ops@example.com',
    },
  });
});
afterAll(async () => cleanup?.());

function metric(
  name: string,
  value: number,
  t = clock.ms,
  extra: Partial<models.MetricDataDetails> = {},
): models.MetricDataDetails {
  return {
    namespace: 'dacflow_test',
    compartmentId: emu.compartmentId,
    name,
    dimensions: { resourceId: CLUSTER },
    datapoints: [{ timestamp: new Date(t), value }],
    ...extra,
  };
}

async function post(metricData: models.MetricDataDetails[], atomic = false) {
  return (
    await client.postMetricData({
      postMetricDataDetails: {
        metricData,
        ...(atomic ? { batchAtomicity: models.PostMetricDataDetails.BatchAtomicity.Atomic } : {}),
      },
    })
  ).postMetricDataResponseDetails;
}

async function status(p: Promise<unknown>): Promise<{ statusCode: number; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { statusCode: number; message: string };
  }
  throw new Error('expected the call to fail');
}

describe('postMetricData', () => {
  it('stores a valid custom metric and reports each invalid one (NON_ATOMIC)', async () => {
    const dims21 = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`d${i}`, 'v']));
    const r = await post([
      metric('Ok', 1),
      metric('Reserved', 1, clock.ms, { namespace: 'oci_generativeai' }),
      metric('Oracle', 1, clock.ms, { namespace: 'oracle_x' }),
      metric('NoDims', 1, clock.ms, { dimensions: {} }),
      metric('TooManyDims', 1, clock.ms, { dimensions: dims21 }),
      metric('Old', 1, clock.ms - 121 * MIN),
      metric('Future', 1, clock.ms + 11 * MIN),
      metric('9bad', 1),
    ]);
    expect(r.failedMetricsCount).toBe(7);
    const messages = (r.failedMetrics ?? []).map((f) => `${f.metricData.name}: ${f.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^Reserved: .*reserved prefix/),
      expect.stringMatching(/^Oracle: .*reserved prefix/),
      expect.stringMatching(/^NoDims: .*1 to 20 dimensions/),
      expect.stringMatching(/^TooManyDims: .*1 to 20 dimensions/),
      expect.stringMatching(/^Old: .*2 hours in the past/),
      expect.stringMatching(/^Future: .*10 minutes in the future/),
      expect.stringMatching(/^9bad: name must start with a letter/),
    ]);
    // Timestamps just inside the limits pass.
    const edge = await post([
      metric('Edge', 1, clock.ms - 119 * MIN),
      metric('Edge', 2, clock.ms + 9 * MIN),
    ]);
    expect(edge.failedMetricsCount).toBe(0);
  });

  it('rejects a whole ATOMIC batch with one bad metric, and more than 50 streams', async () => {
    const e = await status(
      post([metric('A', 1), metric('B', 1, clock.ms, { namespace: 'oci_x' })], true),
    );
    expect(e.statusCode).toBe(400);
    expect(e.message).toContain('ATOMIC');
    const many = Array.from({ length: 51 }, (_, i) =>
      metric('Many', 1, clock.ms, { dimensions: { resourceId: `r${i}` } }),
    );
    expect((await status(post(many))).statusCode).toBe(400);
    expect((await post(many.slice(0, 50))).failedMetricsCount).toBe(0);
  });
});

describe('summarizeMetricsData', () => {
  it('aggregates per minute with filters, statistics and a condition', async () => {
    const base = clock.ms - 10 * MIN;
    for (let m = 0; m < 3; m++) {
      await post([
        metric('Lat', 100 * (m + 1), base + m * MIN + 1000),
        metric('Lat', 100 * (m + 1) + 50, base + m * MIN + 2000),
        metric('Lat', 1, base + m * MIN + 3000, { dimensions: { resourceId: 'other' } }),
      ]);
    }
    const q = async (query: string) =>
      (
        await client.summarizeMetricsData({
          compartmentId: emu.compartmentId,
          summarizeMetricsDataDetails: {
            namespace: 'dacflow_test',
            query,
            startTime: new Date(base),
            endTime: new Date(base + 3 * MIN),
          },
        })
      ).items;
    const mean = await q(`Lat[1m]{resourceId = "${CLUSTER}"}.mean()`);
    expect(mean).toHaveLength(1);
    expect(mean[0]!.dimensions).toEqual({ resourceId: CLUSTER });
    expect(
      mean[0]!.aggregatedDatapoints.map((p) => [new Date(p.timestamp).getTime() - base, p.value]),
    ).toEqual([
      [0, 125],
      [MIN, 225],
      [2 * MIN, 325],
    ]);
    expect((await q('Lat[1m].sum()')).length).toBe(2); // both streams without a filter
    const max3 = await q(`Lat[3m]{resourceId = "${CLUSTER}"}.max()`);
    expect(max3[0]!.aggregatedDatapoints[0]!.value).toBe(350);
    const p99 = await q(`Lat[1m]{resourceId = "${CLUSTER}"}.percentile(0.99)`);
    expect(p99[0]!.aggregatedDatapoints.map((p) => p.value)).toEqual([150, 250, 350]);
    const cond = await q(`Lat[1m]{resourceId = "${CLUSTER}"}.mean() > 200`);
    expect(cond[0]!.aggregatedDatapoints.map((p) => p.value)).toEqual([225, 325]);
  });

  it('answers a malformed query with 400 InvalidParameter and the position', async () => {
    const e = await status(
      client.summarizeMetricsData({
        compartmentId: emu.compartmentId,
        summarizeMetricsDataDetails: { namespace: 'dacflow_test', query: 'Lat[1m].median()' },
      }),
    );
    expect(e).toMatchObject({ statusCode: 400, serviceCode: 'InvalidParameter' });
    expect(e.message).toContain('unknown statistic median()');
    expect(e.message).toContain('at position 8');
  });
});

describe('alarms', () => {
  const details = (over: Partial<models.CreateAlarmDetails> = {}): models.CreateAlarmDetails => ({
    displayName: 'bot-utilization-low',
    compartmentId: emu.compartmentId,
    metricCompartmentId: emu.compartmentId,
    namespace: 'dacflow_test',
    query: `Util[1m]{resourceId = "${CLUSTER}"}.mean() < 30`,
    severity: models.Alarm.Severity.Warning,
    destinations: [topicId],
    isEnabled: true,
    pendingDuration: 'PT2M',
    repeatNotificationDuration: 'PT2M',
    body: formatAlarmBody(CLUSTER, ScalingRule.UtilizationLow),
    ruleName: 'utilization-low',
    alarmSummary: 'Utilization under 30%: scale down',
    ...over,
  });

  it('creates, reads, lists, updates with ifMatch and deletes', async () => {
    for (const bad of [
      { pendingDuration: 'PT90M' },
      { repeatNotificationDuration: 'PT30S' },
      { query: 'Util[1m].mean()' },
      { query: 'Util[1m].groupBy().mean() > 1' },
    ]) {
      const e = await status(client.createAlarm({ createAlarmDetails: details(bad) }));
      expect(e.statusCode).toBe(400);
    }
    const a = await client.createAlarm({ createAlarmDetails: details({ displayName: 'z-alarm' }) });
    const b = await client.createAlarm({ createAlarmDetails: details({ displayName: 'a-alarm' }) });
    expect(a.alarm).toMatchObject({
      lifecycleState: 'ACTIVE',
      pendingDuration: 'PT2M',
      messageFormat: 'RAW',
    });
    const got = await client.getAlarm({ alarmId: a.alarm.id });
    expect(got.etag).toBe(a.etag);
    const page1 = await client.listAlarms({ compartmentId: emu.compartmentId, limit: 1 });
    expect(page1.items.map((x) => x.displayName)).toEqual(['a-alarm']);
    expect(page1.opcNextPage).toBeDefined();
    const stale = await status(
      client.updateAlarm({
        alarmId: a.alarm.id,
        ifMatch: 'nope',
        updateAlarmDetails: { isEnabled: false },
      }),
    );
    expect(stale.statusCode).toBe(412);
    const upd = await client.updateAlarm({
      alarmId: a.alarm.id,
      ifMatch: a.etag,
      updateAlarmDetails: { isEnabled: false, severity: models.Alarm.Severity.Critical },
    });
    expect(upd.alarm).toMatchObject({ isEnabled: false, severity: 'CRITICAL' });
    await client.deleteAlarm({ alarmId: a.alarm.id });
    await client.deleteAlarm({ alarmId: b.alarm.id });
    expect((await status(client.getAlarm({ alarmId: a.alarm.id }))).statusCode).toBe(404);
  });

  it('evaluates each minute: pending, OK_TO_FIRING, REPEAT, FIRING_TO_OK, RESET', async () => {
    const { alarm } = await client.createAlarm({ createAlarmDetails: details() });
    const types: string[] = [];
    // Posts `value` into the current minute, then steps to the next minute and evaluates it.
    const minute = async (value: number | undefined) => {
      if (value !== undefined) await post([metric('Util', value, clock.ms + 1000)]);
      clock.ms += MIN;
      const before = mon.control.published().length;
      await mon.control.tick();
      const fresh = mon.control
        .published()
        .slice(before)
        .filter((p) => p.alarmId === alarm.id);
      types.push(fresh.map((p) => p.type).join('+') || '-');
    };
    await minute(10); // breach 1 of pendingDuration 2
    await minute(10); // OK_TO_FIRING
    await minute(12); // firing, repeat not due
    await minute(11); // REPEAT (PT2M after the last message)
    await minute(50); // FIRING_TO_OK
    await minute(10);
    await minute(10); // OK_TO_FIRING again
    for (let i = 0; i < 13; i++) await minute(undefined); // no data: RESET after 13 minutes
    await minute(10); // data is back: pending starts again from zero
    await minute(10);
    expect(types.slice(0, 7)).toEqual([
      '-',
      'OK_TO_FIRING',
      '-',
      'REPEAT',
      'FIRING_TO_OK',
      '-',
      'OK_TO_FIRING',
    ]);
    expect(types.slice(7)).toEqual([...Array(12).fill('-'), 'RESET', '-', 'OK_TO_FIRING']);

    const msgs = mon.control.published().filter((p) => p.alarmId === alarm.id);
    const first = JSON.parse(msgs[0]!.body);
    expect(first).toMatchObject({
      title: 'bot-utilization-low',
      body: formatAlarmBody(CLUSTER, ScalingRule.UtilizationLow),
      type: 'OK_TO_FIRING',
      severity: 'WARNING',
      notificationType: 'Grouped messages across metric streams',
      version: 1.5,
    });
    expect(typeof first.dedupeKey).toBe('string');
    expect(first.timestampEpochMillis).toBe(Date.parse(first.timestamp));
    expect(first.alarmMetaData).toEqual([
      expect.objectContaining({
        id: alarm.id,
        status: 'FIRING',
        namespace: 'dacflow_test',
        query: alarm.query,
        totalMetricsFiring: 1,
        dimensions: [{ resourceId: CLUSTER }],
        metricValues: [{ [`Util[1m]{resourceId = "${CLUSTER}"}.mean()`]: '10' }],
        alarmSummary: 'Utilization under 30%: scale down',
      }),
    ]);
    // The REPEAT keeps the episode's dedupeKey; the next episode gets a new one.
    const repeat = JSON.parse(msgs[1]!.body);
    expect(repeat.dedupeKey).toBe(first.dedupeKey);
    expect(JSON.parse(msgs[3]!.body).dedupeKey).not.toBe(first.dedupeKey);
    // dacflow's parser reads every one of them.
    for (const m of msgs) expect(parseAlarmMessage(m.body).ok).toBe(true);
    // And Notifications delivered them to the topic's subscribers.
    await new Promise((r) => setTimeout(r, 20));
    expect(emu.outbox(topicId).filter((r) => r.kind === 'message').length).toBe(msgs.length);
    await client.deleteAlarm({ alarmId: alarm.id });
  });

  it('keeps the pending streak across a minute without data, and skips disabled alarms', async () => {
    const { alarm } = await client.createAlarm({
      createAlarmDetails: details({ displayName: 'gap', repeatNotificationDuration: undefined }),
    });
    const off = await client.createAlarm({
      createAlarmDetails: details({ displayName: 'off', isEnabled: false }),
    });
    const seen = (id: string) => mon.control.published().filter((p) => p.alarmId === id);
    const step = async (value: number | undefined) => {
      if (value !== undefined) await post([metric('Util', value, clock.ms + 1000)]);
      clock.ms += MIN;
      await mon.control.tick();
    };
    await step(5);
    await step(undefined);
    expect(seen(alarm.id)).toEqual([]);
    await step(5);
    expect(seen(alarm.id).map((p) => p.type)).toEqual(['OK_TO_FIRING']);
    // No repeat configured: no REPEAT however long it fires.
    for (let i = 0; i < 4; i++) await step(5);
    expect(seen(alarm.id)).toHaveLength(1);
    expect(seen(off.alarm.id)).toEqual([]);
    await client.deleteAlarm({ alarmId: alarm.id });
    await client.deleteAlarm({ alarmId: off.alarm.id });
  });
});
