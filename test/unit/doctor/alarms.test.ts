import { describe, expect, it } from 'vitest';
import {
  checkAlarms,
  isoMinutes,
  managedClusters,
  managedDeployments,
  parseAlarmQuery,
} from '#shared/doctor/alarms.ts';
import type { AlarmView } from '#shared/doctor/ports.ts';
import {
  alarmsTopic,
  CLUSTER,
  dsWorkflow,
  FakeGenAi,
  FakeMonitoring,
  goodAlarms,
  goodDeploymentAlarms,
  notOk,
  policy,
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
      groupBy: [],
      statistic: '.percentile(0.99)',
      operator: '>',
      threshold: 5000,
    });
    expect(parseAlarmQuery('DerivedUtilization[5m].mean() < 30.5')?.threshold).toBe(30.5);
    expect(parseAlarmQuery('CpuUtilization[1m].absent()')).toBeUndefined();
  });

  it('reads the grouped query shape terraform/datascience.tf writes', () => {
    expect(
      parseAlarmQuery('PredictLatency[1m].groupBy(resourceId).percentile(0.99) > 5000'),
    ).toEqual({
      metric: 'PredictLatency',
      intervalMin: 1,
      filter: '',
      groupBy: ['resourceId'],
      statistic: '.percentile(0.99)',
      operator: '>',
      threshold: 5000,
    });
    const q = parseAlarmQuery(
      'GPUCoreUtilization[5m]{a = "x"}.groupBy( resourceId , b ).mean() < 30',
    );
    expect([q?.filter, q?.groupBy, q?.statistic]).toEqual([
      '{a = "x"}',
      ['resourceId', 'b'],
      '.mean()',
    ]);
    expect(parseAlarmQuery('GPUCoreUtilization[5m].groupBy().mean() < 30')).toBeUndefined();
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

describe('checkAlarms on the model deployments of datascience workflows', () => {
  const ds = (over: Parameters<typeof target>[0] = {}) =>
    target({ workflows: [dsWorkflow()], ...over });
  /** A Monitoring holding only the given alarms. */
  const monitoringWith = (alarms: AlarmView[]) => {
    const mon = new FakeMonitoring();
    mon.alarms = alarms;
    return mon;
  };
  const genaiUnused = () => {
    const g = new FakeGenAi();
    g.error = new Error('GenAI must not be called for a datascience workflow');
    return g;
  };
  const byRule = (alarms: AlarmView[], rule: string) => alarms.find((a) => a.ruleName === rule)!;

  it('takes datascience workflows with autoscaling only, with their utilization metric', () => {
    const tuned = dsWorkflow(
      'tuned',
      '{ minUnits: 1, maxUnits: 4, utilization: { source: metric, metric: CpuUtilization } }',
    );
    const { deployments } = managedDeployments([
      dsWorkflow(),
      dsWorkflow('plain', null),
      workflow(),
      tuned,
    ]);
    expect(deployments.map((d) => [d.workflow, d.utilizationMetric])).toEqual([
      ['aqua-llama', 'GPUCoreUtilization'],
      ['tuned', 'CpuUtilization'],
    ]);
  });

  it('is ok when the four alarms match the policy, split per deployment', async () => {
    const findings = await checkAlarms(
      ds(),
      genaiUnused(),
      monitoringWith(goodDeploymentAlarms()),
      alarmsTopic,
    );
    expect(notOk(findings)).toEqual([]);
    expect(findings).toHaveLength(4);
    expect(findings[0]!.message).toBe(
      "alarm dacflow-aqua-llama-deployments-latency-p99-high (ocid1.alarm.oc1..aqua-llama-latency-p99-high) for latency-p99-high of the model deployments of workflow aqua-llama is enabled, notifies dacflow-alarms, splits notifications per deployment, and matches the workflow's policy (threshold 5000, 1m, pending PT1M)",
    );
  });

  it("holds the alarms to the workflow's own values and utilization metric", async () => {
    const w = dsWorkflow(
      'tuned',
      '{ minUnits: 1, maxUnits: 4, lowUtilizationPct: 20, sustainedLowWindowMin: 20, utilization: { source: metric, metric: CpuUtilization } }',
    );
    const tuned = { ...policy, lowUtilizationPct: 20, sustainedLowWindowMin: 20 };
    const good = await checkAlarms(
      target({ workflows: [w] }),
      genaiUnused(),
      monitoringWith(goodDeploymentAlarms('tuned', tuned, 'CpuUtilization')),
      alarmsTopic,
    );
    expect(notOk(good)).toEqual([]);
    // The same alarms with the defaults: threshold, pending and metric are named.
    const bad = notOk(
      await checkAlarms(
        target({ workflows: [w] }),
        genaiUnused(),
        monitoringWith(goodDeploymentAlarms('tuned')),
        alarmsTopic,
      ),
    );
    expect(bad.map((f) => f.message.replace(/^alarm \S+ \(\S+\) for /, ''))).toEqual([
      'utilization-high of the model deployments of workflow tuned has query "GPUCoreUtilization[1m].groupBy(resourceId).mean() > 88": metric GPUCoreUtilization, expected CpuUtilization',
      'utilization-low of the model deployments of workflow tuned has query "GPUCoreUtilization[5m].groupBy(resourceId).mean() < 30": threshold 30, expected 20; metric GPUCoreUtilization, expected CpuUtilization',
      'utilization-sustained-low of the model deployments of workflow tuned has query "GPUCoreUtilization[5m].groupBy(resourceId).mean() < 80": metric GPUCoreUtilization, expected CpuUtilization',
      'utilization-sustained-low of the model deployments of workflow tuned has pendingDuration PT10M, expected PT20M',
    ]);
    expect(bad[1]!.fix).toBe(
      'set autoscaling.lowUtilizationPct: 20 in workflow tuned\'s file, then run `terraform apply` (oci_monitoring_alarm.deployment_scaling["tuned-utilization-low"]), or update alarm ocid1.alarm.oc1..tuned-utilization-low directly: query CpuUtilization[5m].groupBy(resourceId).mean() < 20',
    );
    expect(bad[3]!.fix).toContain(
      "set autoscaling.sustainedLowWindowMin: 20 in workflow tuned's file",
    );
  });

  it('fails a grouped alarm: scale-dac refuses messages naming several deployments', async () => {
    const alarms = goodDeploymentAlarms();
    byRule(alarms, 'utilization-high').isNotificationsPerMetricDimensionEnabled = false;
    delete byRule(alarms, 'utilization-low').isNotificationsPerMetricDimensionEnabled;
    const bad = notOk(await checkAlarms(ds(), genaiUnused(), monitoringWith(alarms), alarmsTopic));
    expect(bad.map((f) => [f.status, f.message.match(/for (\S+) of/)?.[1]])).toEqual([
      ['fail', 'utilization-high'],
      ['fail', 'utilization-low'],
    ]);
    expect(bad[0]!.message).toContain(
      'groups notifications across metric streams (isNotificationsPerMetricDimensionEnabled is false)',
    );
    expect(bad[0]!.message).toContain('ALARM_TARGET_AMBIGUOUS');
    expect(bad[0]!.fix).toContain('--is-notifications-per-metric-dimension-enabled true');
    expect(bad[0]!.fix).toContain(
      'oci_monitoring_alarm.deployment_scaling["aqua-llama-utilization-high"] sets is_notifications_per_metric_dimension_enabled = true',
    );
  });

  it('names a wrong namespace, metric, grouping, filter, statistic and interval', async () => {
    const alarms = goodDeploymentAlarms();
    const lat = byRule(alarms, 'latency-p99-high');
    lat.namespace = 'oci_datascience';
    lat.query =
      'PredictLatency[5m]{resourceId = "ocid1.datasciencemodeldeployment.oc1..a"}.mean() > 5000';
    const bad = notOk(await checkAlarms(ds(), genaiUnused(), monitoringWith(alarms), alarmsTopic));
    expect(
      bad.map((f) =>
        f.message.replace(
          /^alarm \S+ \(\S+\) for latency-p99-high of the model deployments of workflow aqua-llama (has )?/,
          '',
        ),
      ),
    ).toEqual([
      "watches namespace oci_datascience, expected oci_datascience_modeldeploy: it never sees a model deployment's metrics",
      'query "PredictLatency[5m]{resourceId = \\"ocid1.datasciencemodeldeployment.oc1..a\\"}.mean() > 5000": interval 5m, expected 1m; dimension filter {resourceId = "ocid1.datasciencemodeldeployment.oc1..a"}, expected none (one alarm covers every deployment); no groupBy(), expected groupBy(resourceId) (one stream per deployment); statistic mean(), expected percentile(0.99)',
    ]);
    expect(bad[1]!.fix).toContain(
      'set latency_interval = "1m" in your terraform.tfvars, then run `terraform apply`',
    );
    expect(bad[1]!.fix).toMatch(
      /: query PredictLatency\[1m\]\.groupBy\(resourceId\)\.percentile\(0\.99\) > 5000$/,
    );
  });

  it('fails a missing alarm with what to create; finds one by its name when the body is lost', async () => {
    const alarms = goodDeploymentAlarms().filter((a) => a.ruleName !== 'utilization-low');
    // A body someone replaced with text: Terraform's display name still ties it to the workflow.
    const high = byRule(alarms, 'utilization-high');
    high.body = 'scale up please';
    high.ruleName = 'BASE';
    const bad = notOk(await checkAlarms(ds(), genaiUnused(), monitoringWith(alarms), alarmsTopic));
    expect(bad.map((f) => f.message.split(' (')[0])).toEqual([
      'alarm dacflow-aqua-llama-deployments-utilization-high',
      'no utilization-low alarm for the model deployments of workflow aqua-llama: scale-dac never resizes them on utilization-low',
    ]);
    expect(bad[0]!.message).toContain(
      'has body "scale up please", expected {"dacflow":{"workflow":"aqua-llama","rule":"utilization-high"}}',
    );
    expect(bad[1]!.fix).toBe(
      'run `terraform apply` with enable_datascience = true and workflow aqua-llama\'s file in workflow_files: it creates dacflow-aqua-llama-deployments-utilization-low (oci_monitoring_alarm.deployment_scaling["aqua-llama-utilization-low"])',
    );
    const local = notOk(
      await checkAlarms(ds({ mode: 'local' }), genaiUnused(), monitoringWith(alarms), alarmsTopic),
    );
    expect(local[1]!.fix).toBe(
      `create it (CreateAlarm) in compartment ${ds().compartmentId}: namespace oci_datascience_modeldeploy, query GPUCoreUtilization[5m].groupBy(resourceId).mean() < 30, isNotificationsPerMetricDimensionEnabled true, pendingDuration PT5M, repeatNotificationDuration PT5M, destinations [${alarmsTopic.id}], body {"dacflow":{"workflow":"aqua-llama","rule":"utilization-low"}}`,
    );
  });

  it("keeps two workflows' alarms apart, and checks hosting clusters in the same pass", async () => {
    const mon = monitoringWith([
      ...goodAlarms(),
      ...goodDeploymentAlarms(),
      ...goodDeploymentAlarms('other').filter((a) => a.ruleName !== 'latency-p99-high'),
      // An alarm of the namespace that belongs to no dacflow workflow.
      {
        ...goodDeploymentAlarms('x')[0]!,
        id: 'ocid1.alarm.oc1..foreign',
        displayName: 'ops-md-latency',
        body: 'page ops',
        ruleName: 'latency-p99-high',
      },
    ]);
    // And one of another service, which doctor never reads in full.
    mon.alarms.push({
      ...goodAlarms()[0]!,
      id: 'ocid1.alarm.oc1..cpu',
      displayName: 'ops-cpu',
      namespace: 'oci_computeagent',
      query: 'CpuUtilization[1m].mean() > 90',
      body: 'page ops',
    });
    const t = target({ workflows: [workflow(), dsWorkflow(), dsWorkflow('other')] });
    const findings = await checkAlarms(t, new FakeGenAi(), mon, alarmsTopic);
    expect(notOk(findings).map((f) => f.message)).toEqual([
      'no latency-p99-high alarm for the model deployments of workflow other: scale-dac never resizes them on latency-p99-high',
    ]);
    expect(findings.filter((f) => f.status === 'ok')).toHaveLength(1 + 4 + 4 + 3);
    // The cluster's and the namespace's alarms are read in full, each once for both workflows.
    expect([...mon.gets].sort()).toEqual(
      mon.alarms
        .map((a) => a.id)
        .filter((id) => !id.endsWith('cpu'))
        .sort(),
    );
  });

  it('names both kinds when Monitoring cannot be reached', async () => {
    const mon = new FakeMonitoring();
    mon.listError = unreachable('monitoring', 'ListAlarms');
    const bad = notOk(
      await checkAlarms(
        target({ workflows: [workflow(), dsWorkflow()] }),
        new FakeGenAi(),
        mon,
        alarmsTopic,
      ),
    );
    expect(bad.map((f) => f.status)).toEqual(['warn']);
    expect(bad[0]!.message).toMatch(
      /: the scaling alarms of 1 hosting cluster \(hosting-a \([^)]*\)\) and of the model deployments of workflow aqua-llama were not checked$/,
    );
  });
});
