import { describe, expect, it } from 'vitest';
import {
  checkAlarms,
  isoMinutes,
  managedClusters,
  parseAlarmQuery,
} from '#shared/doctor/alarms.ts';
import {
  alarmsTopic,
  CLUSTER,
  FakeGenAi,
  FakeMonitoring,
  goodAlarms,
  notOk,
  target,
  unreachable,
  workflow,
} from './fakes.ts';

const t = (refs = ['hosting-a']) => target({ workflows: [workflow(refs)] });

describe('alarm query and duration parsing', () => {
  it('reads the query shape terraform/monitoring.tf writes', () => {
    expect(
      parseAlarmQuery(`InvocationLatency[1m]{resourceId = "${CLUSTER}"}.percentile(0.99) > 5000`),
    ).toEqual({
      metric: 'InvocationLatency',
      intervalMin: 1,
      filter: `{resourceId = "${CLUSTER}"}`,
      statistic: '.percentile(0.99)',
      operator: '>',
      threshold: 5000,
    });
    expect(parseAlarmQuery('DerivedUtilization[5m].mean() < 30.5')?.threshold).toBe(30.5);
    expect(parseAlarmQuery('CpuUtilization[1m].absent()')).toBeUndefined();
  });

  it('converts ISO-8601 durations to minutes', () => {
    expect(isoMinutes('PT5M')).toBe(5);
    expect(isoMinutes('PT1H')).toBe(60);
    expect(isoMinutes('PT1H30M')).toBe(90);
    expect(isoMinutes('P1D')).toBe(1440);
    expect(isoMinutes('PT')).toBeUndefined();
    expect(isoMinutes('5 minutes')).toBeUndefined();
  });
});

describe('managedClusters', () => {
  it('takes the hosting clusters of workflows with autoscaling only', () => {
    expect(managedClusters([workflow(['a', 'b'])]).clusters.map((c) => c.ref)).toEqual(['a', 'b']);
    expect(managedClusters([workflow(['a'], false)]).clusters).toEqual([]);
  });
});

describe('checkAlarms', () => {
  it('is ok when the four alarms match the policy (cluster resolved by display name)', async () => {
    const findings = await checkAlarms(t(), new FakeGenAi(), new FakeMonitoring(), alarmsTopic);
    expect(notOk(findings)).toEqual([]);
    expect(findings.map((f) => f.check)).toEqual([
      'genai.hosting-cluster',
      'monitoring.alarm',
      'monitoring.alarm',
      'monitoring.alarm',
      'monitoring.alarm',
    ]);
  });

  it('does nothing without managed clusters', async () => {
    const mon = new FakeMonitoring();
    mon.listError = new Error('must not be called');
    expect(await checkAlarms(target(), new FakeGenAi(), mon, alarmsTopic)).toEqual([]);
  });

  it('fails a missing alarm with what to create', async () => {
    const mon = new FakeMonitoring();
    mon.alarms = mon.alarms.filter((a) => a.ruleName !== 'utilization-sustained-low');
    const bad = notOk(await checkAlarms(t(), new FakeGenAi(), mon, alarmsTopic));
    expect(bad).toHaveLength(1);
    expect(bad[0]!.message).toBe(
      `no utilization-sustained-low alarm for hosting cluster hosting-a (${CLUSTER}) (workflow support-bot): scale-dac never scales it on utilization-sustained-low`,
    );
    expect(bad[0]!.fix).toContain(
      'it re-creates dacflow-managed-utilization-sustained-low (oci_monitoring_alarm.scaling["managed-utilization-sustained-low"])',
    );
    // With no sibling alarm to take Terraform's short name from, the fix says how to add one.
    mon.alarms = [];
    const none = notOk(await checkAlarms(t(), new FakeGenAi(), mon, alarmsTopic));
    expect(none).toHaveLength(4);
    expect(none[0]!.fix).toContain(`hosting_cluster_ids (e.g. { <short-name> = "${CLUSTER}" })`);
    mon.alarms = goodAlarms().filter((a) => a.ruleName !== 'utilization-sustained-low');
    const local = notOk(
      await checkAlarms({ ...t(), mode: 'local' }, new FakeGenAi(), mon, alarmsTopic),
    );
    expect(local[0]!.fix).toContain('pendingDuration PT10M');
    expect(local[0]!.fix).toContain('"rule":"utilization-sustained-low"');
  });

  it('names the threshold, interval, pending and repeat that drifted', async () => {
    const mon = new FakeMonitoring();
    const low = mon.alarms.find((a) => a.ruleName === 'utilization-low')!;
    low.query = low.query.replace('[5m]', '[1m]').replace('< 30', '< 25');
    low.pendingDuration = 'PT10M';
    low.repeatNotificationDuration = undefined;
    const bad = notOk(await checkAlarms(t(), new FakeGenAi(), mon, alarmsTopic));
    expect(bad.map((f) => f.status)).toEqual(['fail', 'fail', 'warn']);
    expect(bad[0]!.message).toContain('threshold 25, expected 30; interval 1m, expected 5m');
    expect(bad[0]!.fix).toContain('utilization_low_threshold_pct = 30');
    expect(bad[0]!.fix).toContain(`DerivedUtilization[5m]{resourceId = "${CLUSTER}"}.mean() < 30`);
    expect(bad[1]!.message).toContain('pendingDuration PT10M, expected PT5M');
    expect(bad[2]!.message).toContain('repeatNotificationDuration (none), expected PT5M');
  });

  it('accepts a latency threshold in seconds (latency_metric_unit = "s")', async () => {
    const mon = new FakeMonitoring();
    const lat = mon.alarms.find((a) => a.ruleName === 'latency-p99-high')!;
    lat.query = lat.query.replace('> 5000', '> 5');
    expect(notOk(await checkAlarms(t(), new FakeGenAi(), mon, alarmsTopic))).toEqual([]);
  });

  it('finds the rule from the body when ruleName is the default BASE', async () => {
    const mon = new FakeMonitoring();
    for (const a of mon.alarms) a.ruleName = 'BASE';
    expect(notOk(await checkAlarms(t(), new FakeGenAi(), mon, alarmsTopic))).toEqual([]);
  });

  it('warns "Monitoring not reachable" when the service does not answer', async () => {
    const mon = new FakeMonitoring();
    mon.listError = unreachable('monitoring', 'ListAlarms');
    const bad = notOk(await checkAlarms(t(), new FakeGenAi(), mon, alarmsTopic));
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ check: 'monitoring.alarm', status: 'warn' });
    expect(bad[0]!.message).toMatch(
      /^Monitoring not reachable \(404 NotFound[^)]*\): the scaling alarms of 1 hosting cluster \(hosting-a/,
    );
  });

  it('fails a cluster that does not exist or is not HOSTING; warns for an ambiguous name', async () => {
    const g = new FakeGenAi();
    const missing = notOk(await checkAlarms(t(['nope']), g, new FakeMonitoring(), alarmsTopic));
    expect(missing.map((f) => [f.check, f.status])).toEqual([['genai.hosting-cluster', 'fail']]);
    expect(missing[0]!.message).toContain(
      'hosting cluster nope (workflow support-bot) does not exist',
    );

    g.clusters[0] = { ...g.clusters[0]!, type: 'FINE_TUNING' };
    const ft = notOk(await checkAlarms(t([CLUSTER]), g, new FakeMonitoring(), alarmsTopic));
    expect(ft[0]!.message).toContain('is a FINE_TUNING cluster, expected HOSTING');

    const g2 = new FakeGenAi();
    g2.clusters.push({ ...g2.clusters[0]!, id: `${CLUSTER}2` });
    const dup = notOk(await checkAlarms(t(), g2, new FakeMonitoring(), alarmsTopic));
    expect(dup.map((f) => f.status)).toEqual(['warn']);
    expect(dup[0]!.fix).toContain('by OCID');
  });

  it('without GenAI, checks alarms of clusters named by OCID and skips display names', async () => {
    const g = new FakeGenAi();
    g.error = unreachable('generativeai', 'GetDedicatedAiCluster');
    const byId = notOk(await checkAlarms(t([CLUSTER]), g, new FakeMonitoring(), alarmsTopic));
    expect(byId.map((f) => [f.check, f.status])).toEqual([['genai.hosting-cluster', 'warn']]);
    const byName = notOk(await checkAlarms(t(), g, new FakeMonitoring(), alarmsTopic));
    expect(byName.map((f) => f.message)).toEqual([
      expect.stringContaining('cannot resolve the display name of hosting cluster hosting-a'),
    ]);
  });
});
