/**
 * Split alarms (`isNotificationsPerMetricDimensionEnabled`) in the Monitoring emulator, created
 * through the real MonitoringClient: one state machine per metric stream (after groupBy), its own
 * OK_TO_FIRING / REPEAT / FIRING_TO_OK / RESET messages naming only that stream, and that state
 * persisted across a restart, dropped after RESET and deleted with the alarm.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as common from 'oci-common';
import { MonitoringClient, models } from 'oci-monitoring';
import { NotificationControlPlaneClient } from 'oci-ons';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '#local/emulator/index.ts';
import { monitoringService, type MonitoringService } from '#local/emulator/monitoring.ts';
import { tempDir } from './helpers.ts';

const MIN = 1000;
const RESET_AFTER_MIN = 4;
const NS = 'oci_datascience_modeldeploy';
const A = 'ocid1.datasciencemodeldeployment.oc1.us-chicago-1.aaaa';
const B = 'ocid1.datasciencemodeldeployment.oc1.us-chicago-1.bbbb';
const QUERY = 'GPUCoreUtilization[1m].groupBy(resourceId).mean() < 30';
const EXPRESSION = 'GPUCoreUtilization[1m].groupBy(resourceId).mean()';
const clock = { ms: Math.floor(Date.now() / MIN) * MIN - 100 * MIN };

interface AlarmMessage {
  dedupeKey: string;
  type: string;
  notificationType: string;
  alarmMetaData: {
    id: string;
    status: string;
    totalMetricsFiring: number;
    dimensions: Record<string, string>[];
    metricValues: Record<string, string>[];
  }[];
}

interface Running {
  emu: Emulator;
  mon: MonitoringService;
  client: MonitoringClient;
}

const tmp = tempDir('dacflow-mon-split-');
const running: Running[] = [];
afterAll(async () => {
  for (const r of running) await r.emu.close();
  tmp.remove();
});

async function start(): Promise<Running> {
  const mon = monitoringService({
    minuteMs: MIN,
    autoTick: false,
    resetAfterMin: RESET_AFTER_MIN,
    now: () => new Date(clock.ms),
  });
  const emu = await startEmulator({ dataDir: tmp.dir, services: [mon] });
  const client = new MonitoringClient({
    authenticationDetailsProvider: new common.ConfigFileAuthenticationDetailsProvider(
      emu.configFile,
      emu.profile,
    ),
  });
  client.endpoint = emu.url;
  const r = { emu, mon, client };
  running.push(r);
  return r;
}

async function stop(r: Running): Promise<void> {
  running.splice(running.indexOf(r), 1);
  await r.emu.close();
}

async function createTopic(r: Running, name: string): Promise<string> {
  const ons = new NotificationControlPlaneClient({
    authenticationDetailsProvider: new common.ConfigFileAuthenticationDetailsProvider(
      r.emu.configFile,
      r.emu.profile,
    ),
  });
  ons.endpoint = r.emu.url;
  return (
    await ons.createTopic({
      createTopicDetails: { name, compartmentId: r.emu.compartmentId },
    })
  ).notificationTopic.topicId;
}

async function createSplitAlarm(
  r: Running,
  topicId: string,
  displayName: string,
): Promise<models.Alarm> {
  return (
    await r.client.createAlarm({
      createAlarmDetails: {
        displayName,
        compartmentId: r.emu.compartmentId,
        metricCompartmentId: r.emu.compartmentId,
        namespace: NS,
        query: QUERY,
        severity: models.Alarm.Severity.Critical,
        destinations: [topicId],
        isEnabled: true,
        pendingDuration: 'PT2M',
        repeatNotificationDuration: 'PT3M',
        isNotificationsPerMetricDimensionEnabled: true,
      },
    })
  ).alarm;
}

/**
 * Posts one minute of GPU utilization (per instance; undefined = the deployment is silent), steps
 * to the next minute and evaluates it. Returns that minute's messages for `alarmId` as
 * `TYPE:resourceId` labels, and the parsed messages.
 */
async function minute(
  r: Running,
  alarmId: string,
  values: { a?: [number, number]; b?: number },
): Promise<{ labels: string; messages: AlarmMessage[] }> {
  const t = clock.ms + 100;
  const post = (resourceId: string, instanceId: string, value: number) =>
    r.mon.control.ingest([
      {
        namespace: NS,
        compartmentId: r.emu.compartmentId,
        name: 'GPUCoreUtilization',
        dimensions: { resourceId, instanceId },
        datapoints: [{ timestampMs: t, value }],
      },
    ]);
  if (values.a) {
    post(A, 'a1', values.a[0]);
    post(A, 'a2', values.a[1]);
  }
  if (values.b !== undefined) post(B, 'b1', values.b);
  clock.ms += MIN;
  const before = r.mon.control.published().length;
  await r.mon.control.tick();
  const messages = r.mon.control
    .published()
    .slice(before)
    .filter((p) => p.alarmId === alarmId)
    .map((p) => JSON.parse(p.body) as AlarmMessage);
  const name = (m: AlarmMessage) => {
    const id = m.alarmMetaData[0]?.dimensions[0]?.resourceId;
    return id === A ? 'A' : id === B ? 'B' : `?${JSON.stringify(m.alarmMetaData[0]?.dimensions)}`;
  };
  return { labels: messages.map((m) => `${m.type}:${name(m)}`).join(' ') || '-', messages };
}

function storedState(alarmId: string): { streams?: Record<string, unknown> } | undefined {
  const file = join(tmp.dir, 'state', 'monitoring-alarm-states.json');
  if (!existsSync(file)) return undefined;
  const states = JSON.parse(readFileSync(file, 'utf8')) as {
    id: string;
    streams?: Record<string, unknown>;
  }[];
  return states.find((s) => s.id === alarmId);
}

const BREACH: [number, number] = [10, 30]; // mean 20 < 30
const HEALTHY: [number, number] = [40, 60]; // mean 50

describe('split alarm over every model deployment', () => {
  it('fires, repeats, clears and resets each deployment on its own', async () => {
    const r = await start();
    const topicId = await createTopic(r, 'split-episodes');
    const alarm = await createSplitAlarm(r, topicId, 'gpu-low');
    const plan: { a?: [number, number]; b?: number }[] = [
      { a: BREACH, b: 50 }, // 0: A breach 1 of 2
      { a: BREACH, b: 50 }, // 1: A fires
      { a: BREACH, b: 50 }, // 2
      { a: BREACH, b: 10 }, // 3: B breach 1 of 2
      { a: BREACH, b: 10 }, // 4: A repeats (PT3M), B fires
      { a: HEALTHY, b: 10 }, // 5: A clears while B still fires
      { a: HEALTHY, b: 10 }, // 6
      { a: HEALTHY, b: 10 }, // 7: B repeats
      { a: HEALTHY }, // 8-10: B silent
      { a: HEALTHY },
      { a: HEALTHY },
      { a: HEALTHY }, // 11: B silent for 4 minutes: RESET
      { a: HEALTHY, b: 10 }, // 12: B is back: a new pending streak
      { a: HEALTHY, b: 10 }, // 13: B fires again, a new episode
    ];
    const results = [];
    for (const values of plan) results.push(await minute(r, alarm.id, values));
    expect(results.map((x) => x.labels)).toEqual([
      '-',
      'OK_TO_FIRING:A',
      '-',
      '-',
      'REPEAT:A OK_TO_FIRING:B',
      'FIRING_TO_OK:A',
      '-',
      'REPEAT:B',
      '-',
      '-',
      '-',
      'RESET:B',
      '-',
      'OK_TO_FIRING:B',
    ]);
    const all = results.flatMap((x) => x.messages);
    for (const m of all) {
      expect(m.notificationType).toBe('Split messages per metric stream');
      expect(m.alarmMetaData).toHaveLength(1);
      expect(m.alarmMetaData[0]!.id).toBe(alarm.id);
      expect(m.alarmMetaData[0]!.dimensions).toHaveLength(1);
    }
    const [aFire, aRepeat, bFire, aOk, bRepeat, bReset, bFireAgain] = all as [
      AlarmMessage,
      AlarmMessage,
      AlarmMessage,
      AlarmMessage,
      AlarmMessage,
      AlarmMessage,
      AlarmMessage,
    ];
    expect(aFire.alarmMetaData[0]).toMatchObject({
      status: 'FIRING',
      totalMetricsFiring: 1,
      dimensions: [{ resourceId: A }],
      metricValues: [{ [EXPRESSION]: '20' }],
    });
    expect(bFire.alarmMetaData[0]).toMatchObject({
      status: 'FIRING',
      totalMetricsFiring: 1,
      dimensions: [{ resourceId: B }],
      metricValues: [{ [EXPRESSION]: '10' }],
    });
    expect(aOk.alarmMetaData[0]).toMatchObject({
      status: 'OK',
      totalMetricsFiring: 0,
      dimensions: [{ resourceId: A }],
      metricValues: [{ [EXPRESSION]: '50' }],
    });
    // A RESET has no value to report, but still names its stream.
    expect(bReset.alarmMetaData[0]).toMatchObject({
      status: 'OK',
      totalMetricsFiring: 0,
      dimensions: [{ resourceId: B }],
      metricValues: [],
    });
    // One dedupeKey per stream and episode.
    expect(aRepeat.dedupeKey).toBe(aFire.dedupeKey);
    expect(aOk.dedupeKey).toBe(aFire.dedupeKey);
    expect(bRepeat.dedupeKey).toBe(bFire.dedupeKey);
    expect(bReset.dedupeKey).toBe(bFire.dedupeKey);
    expect(bFire.dedupeKey).not.toBe(aFire.dedupeKey);
    expect(bFireAgain.dedupeKey).not.toBe(bFire.dedupeKey);
    await r.client.deleteAlarm({ alarmId: alarm.id });
    await stop(r);
  });

  it('drops a stream after its RESET, survives a restart, and goes with the alarm', async () => {
    let r = await start();
    const topicId = await createTopic(r, 'split-persisted');
    const alarm = await createSplitAlarm(r, topicId, 'gpu-low-persisted');
    const keys = () => Object.keys(storedState(alarm.id)?.streams ?? {}).sort();
    const keyA = JSON.stringify([['resourceId', A]]);
    const keyB = JSON.stringify([['resourceId', B]]);
    expect((await minute(r, alarm.id, { a: BREACH, b: 10 })).labels).toBe('-');
    const fired = await minute(r, alarm.id, { a: BREACH, b: 10 });
    expect(fired.labels).toBe('OK_TO_FIRING:A OK_TO_FIRING:B');
    expect(keys()).toEqual([keyA, keyB].sort());
    // B goes silent; A keeps posting and stays FIRING.
    const labels: string[] = [];
    for (let i = 0; i < RESET_AFTER_MIN; i++) {
      labels.push((await minute(r, alarm.id, { a: BREACH })).labels);
    }
    expect(labels).toEqual(['-', '-', 'REPEAT:A', 'RESET:B']);
    expect(keys()).toEqual([keyA]);

    // Restart on the same data dir: A is still FIRING, so no second OK_TO_FIRING.
    await stop(r);
    r = await start();
    expect((await minute(r, alarm.id, { a: BREACH })).labels).toBe('-');
    const cleared = await minute(r, alarm.id, { a: HEALTHY });
    expect(cleared.labels).toBe('FIRING_TO_OK:A');
    expect(cleared.messages[0]!.dedupeKey).toBe(fired.messages[0]!.dedupeKey);
    expect(storedState(alarm.id)).toBeDefined();
    await r.client.deleteAlarm({ alarmId: alarm.id });
    expect(storedState(alarm.id)).toBeUndefined();
    await stop(r);
  });

  it('a split alarm without grouping tracks each raw stream by its full dimensions', async () => {
    const r = await start();
    const topicId = await createTopic(r, 'split-raw');
    const { alarm } = await r.client.createAlarm({
      createAlarmDetails: {
        displayName: 'gpu-per-instance',
        compartmentId: r.emu.compartmentId,
        metricCompartmentId: r.emu.compartmentId,
        namespace: NS,
        query: 'GPUCoreUtilization[1m].mean() < 30',
        severity: models.Alarm.Severity.Info,
        destinations: [topicId],
        isEnabled: true,
        isNotificationsPerMetricDimensionEnabled: true,
      },
    });
    // Instance a1 at 10 breaches, a2 at 30 does not: only a1 fires (pending PT1M by default).
    const { messages } = await minute(r, alarm.id, { a: [10, 30] });
    expect(messages.map((m) => [m.type, m.alarmMetaData[0]!.dimensions])).toEqual([
      ['OK_TO_FIRING', [{ resourceId: A, instanceId: 'a1' }]],
    ]);
    await r.client.deleteAlarm({ alarmId: alarm.id });
    await stop(r);
  });
});
