import { formatAlarmBody, formatDeploymentAlarmBody, type ScalingRule } from './alarm.ts';
import type { ScalingPolicy } from './policy.ts';
import { alarmRulesFor, type AlarmRuleSpec } from './simulate.ts';

/** Where one alarmed signal lives in Monitoring. */
export interface MetricRef {
  namespace: string;
  metric: string;
  /** The MQL statistic, e.g. `mean()`. */
  statistic: string;
  /** The dimension holding the scaled resource's OCID. */
  dimension: string;
}

/** The two signals the scaling rules watch (`AlarmRuleSpec.metric`). */
export interface AlarmMetrics {
  p99LatencyMs: MetricRef;
  utilizationPct: MetricRef;
}

/**
 * Hosting clusters: the Terraform defaults. OCI documents neither name for dedicated AI clusters
 * (oci-facts C: NOT FOUND), so utilization is dacflow's derived metric (shared/pipeline/
 * utilization.ts) and both stay configurable (terraform/variables.tf `*_metric_*`).
 */
export const clusterAlarmMetrics: AlarmMetrics = Object.freeze({
  p99LatencyMs: {
    namespace: 'oci_generativeai',
    metric: 'InvocationLatency',
    statistic: 'percentile(0.99)',
    dimension: 'resourceId',
  },
  utilizationPct: {
    namespace: 'dacflow_autoscaling',
    metric: 'DerivedUtilization',
    statistic: 'mean()',
    dimension: 'resourceId',
  },
});

/**
 * Data Science model deployments: OCI's own metrics (data-science/using/metrics-model-deploy.htm,
 * namespace `oci_datascience_modeldeploy`): `PredictLatency` in milliseconds and
 * `GPUCoreUtilization` in percent per instance, both with the deployment's OCID as `resourceId`.
 */
export const deploymentNamespace = 'oci_datascience_modeldeploy';
export const defaultDeploymentUtilizationMetric = 'GPUCoreUtilization';
export const deploymentAlarmMetrics: AlarmMetrics = Object.freeze({
  p99LatencyMs: {
    namespace: deploymentNamespace,
    metric: 'PredictLatency',
    statistic: 'percentile(0.99)',
    dimension: 'resourceId',
  },
  utilizationPct: {
    namespace: deploymentNamespace,
    metric: defaultDeploymentUtilizationMetric,
    statistic: 'mean()',
    dimension: 'resourceId',
  },
});

/** One alarm as dacflow creates it (CreateAlarmDetails, minus compartment and destinations). */
export interface AlarmDefinition {
  rule: ScalingRule;
  namespace: string;
  query: string;
  pendingMin: number;
  repeatMin: number;
  severity: 'CRITICAL' | 'WARNING';
  body: string;
  /** `isNotificationsPerMetricDimensionEnabled`: one message, and one state, per metric stream. */
  splitPerStream: boolean;
  summary: string;
}

/** Test-sized windows; by default every number is `alarmRulesFor(policy)`'s. */
export interface AlarmOverrides {
  intervalMin?: Partial<Record<ScalingRule, number>>;
  pendingMin?: Partial<Record<ScalingRule, number>>;
  repeatMin?: number;
}

function definitions(
  policy: ScalingPolicy,
  metrics: AlarmMetrics,
  selector: (m: MetricRef) => string,
  body: (rule: ScalingRule) => string,
  splitPerStream: boolean,
  o: AlarmOverrides,
): AlarmDefinition[] {
  return alarmRulesFor(policy).map((spec: AlarmRuleSpec) => {
    const m = metrics[spec.metric];
    const interval = o.intervalMin?.[spec.rule] ?? spec.intervalMin;
    const above = spec.comparison === 'above';
    return {
      rule: spec.rule,
      namespace: m.namespace,
      query: `${m.metric}[${interval}m]${selector(m)}.${m.statistic} ${above ? '>' : '<'} ${spec.threshold}`,
      pendingMin: o.pendingMin?.[spec.rule] ?? spec.pendingMin,
      repeatMin: o.repeatMin ?? spec.repeatMin,
      severity: above ? 'CRITICAL' : 'WARNING',
      body: body(spec.rule),
      splitPerStream,
      summary: `${spec.metric === 'p99LatencyMs' ? 'P99 latency' : 'Utilization'} ${above ? 'over' : 'under'} ${spec.threshold}${spec.metric === 'p99LatencyMs' ? ' ms' : '%'}: scale ${above ? 'up' : 'down'}`,
    };
  });
}

/**
 * The alarms of one hosting cluster (terraform/monitoring.tf): each query filters on the cluster,
 * and the body names it.
 */
export function clusterAlarmDefinitions(
  policy: ScalingPolicy,
  clusterId: string,
  o: AlarmOverrides & { metrics?: AlarmMetrics } = {},
): AlarmDefinition[] {
  return definitions(
    policy,
    o.metrics ?? clusterAlarmMetrics,
    (m) => `{${m.dimension} = "${clusterId}"}`,
    (rule) => formatAlarmBody(clusterId, rule),
    false,
    o,
  );
}

/**
 * The alarms of one workflow's model deployments (terraform/datascience.tf). Deployments are
 * created at run time, so no alarm can name one: each rule is one alarm over every deployment in
 * the compartment, grouped by `resourceId` (instances are averaged, so one hot instance is not a
 * hot deployment) and split per metric stream, so each deployment fires and clears on its own and
 * every message names exactly one. The body names the workflow: scale-dac acts only on deployments
 * that workflow created (their `dacflowWorkflow` tag).
 */
export function deploymentAlarmDefinitions(
  policy: ScalingPolicy,
  workflow: string,
  o: AlarmOverrides & { utilizationMetric?: string } = {},
): AlarmDefinition[] {
  const metrics: AlarmMetrics = {
    ...deploymentAlarmMetrics,
    utilizationPct: {
      ...deploymentAlarmMetrics.utilizationPct,
      metric: o.utilizationMetric ?? defaultDeploymentUtilizationMetric,
    },
  };
  return definitions(
    policy,
    metrics,
    (m) => `.groupBy(${m.dimension})`,
    (rule) => formatDeploymentAlarmBody(workflow, rule),
    true,
    o,
  );
}
