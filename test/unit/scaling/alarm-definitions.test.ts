import { describe, expect, it } from 'vitest';
import { parseAlarmMessage, ScalingRule, scalingRules } from '#shared/scaling/alarm.ts';
import {
  clusterAlarmDefinitions,
  deploymentAlarmDefinitions,
} from '#shared/scaling/alarm-definitions.ts';
import { defaultScalingPolicy } from '#shared/scaling/policy.ts';
import { alarmRulesFor } from '#shared/scaling/simulate.ts';

const policy = defaultScalingPolicy;
const CLUSTER = 'ocid1.generativeaidedicatedaicluster.oc1..c';

describe('clusterAlarmDefinitions', () => {
  it('filters each rule on the cluster, with the policy numbers and a body naming it', () => {
    const defs = clusterAlarmDefinitions(policy, CLUSTER);
    expect(defs.map((d) => d.rule)).toEqual(scalingRules);
    const latency = defs.find((d) => d.rule === ScalingRule.LatencyP99High)!;
    expect(latency).toMatchObject({
      namespace: 'oci_generativeai',
      query: `InvocationLatency[1m]{resourceId = "${CLUSTER}"}.percentile(0.99) > ${policy.latencyP99ThresholdMs}`,
      severity: 'CRITICAL',
      splitPerStream: false,
    });
    const low = defs.find((d) => d.rule === ScalingRule.UtilizationLow)!;
    expect(low.query).toBe(
      `DerivedUtilization[5m]{resourceId = "${CLUSTER}"}.mean() < ${policy.lowUtilizationPct}`,
    );
    for (const [d, spec] of defs.map((d, i) => [d, alarmRulesFor(policy)[i]!] as const)) {
      expect(d.pendingMin).toBe(spec.pendingMin);
      expect(d.repeatMin).toBe(spec.repeatMin);
      expect(JSON.parse(d.body)).toEqual({ dacflow: { clusterId: CLUSTER, rule: d.rule } });
    }
  });

  it('takes test-sized windows', () => {
    const defs = clusterAlarmDefinitions(policy, CLUSTER, {
      intervalMin: { [ScalingRule.UtilizationLow]: 1 },
      pendingMin: { [ScalingRule.UtilizationLow]: 2 },
      repeatMin: 1,
    });
    const low = defs.find((d) => d.rule === ScalingRule.UtilizationLow)!;
    expect(low.query).toContain('DerivedUtilization[1m]');
    expect(low).toMatchObject({ pendingMin: 2, repeatMin: 1 });
  });
});

describe('deploymentAlarmDefinitions', () => {
  it('covers every deployment of the compartment, grouped per deployment and split per stream', () => {
    const defs = deploymentAlarmDefinitions(policy, 'aqua');
    expect(defs.map((d) => d.rule)).toEqual(scalingRules);
    for (const d of defs) {
      expect(d.namespace).toBe('oci_datascience_modeldeploy');
      expect(d.splitPerStream).toBe(true);
      expect(d.query).toContain('.groupBy(resourceId).');
      expect(d.query).not.toContain('{');
      expect(JSON.parse(d.body)).toEqual({ dacflow: { workflow: 'aqua', rule: d.rule } });
    }
    expect(defs[0]!.query).toBe(
      `PredictLatency[1m].groupBy(resourceId).percentile(0.99) > ${policy.latencyP99ThresholdMs}`,
    );
    expect(defs.find((d) => d.rule === ScalingRule.UtilizationHigh)!.query).toBe(
      `GPUCoreUtilization[1m].groupBy(resourceId).mean() > ${policy.highUtilizationPct}`,
    );
  });

  it('uses the workflow metric, and its bodies parse back to the workflow', () => {
    const defs = deploymentAlarmDefinitions(policy, 'aqua', {
      utilizationMetric: 'CpuUtilization',
    });
    expect(defs.filter((d) => d.query.startsWith('CpuUtilization['))).toHaveLength(3);
    const parsed = parseAlarmMessage({
      dedupeKey: 'k',
      type: 'OK_TO_FIRING',
      timestampEpochMillis: 1,
      body: defs[1]!.body,
      alarmMetaData: [
        { id: 'a', dimensions: [{ resourceId: 'ocid1.datasciencemodeldeployment.oc1..x' }] },
      ],
    });
    expect(parsed.ok && parsed.signal).toMatchObject({
      workflow: 'aqua',
      rule: defs[1]!.rule,
      clusterId: 'ocid1.datasciencemodeldeployment.oc1..x',
    });
  });
});
