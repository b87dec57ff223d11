/**
 * The scaling alarms scale-dac acts on, held to the code's own definitions: for each managed
 * hosting cluster one alarm per rule naming the cluster (`clusterAlarmDefinitions`,
 * terraform/monitoring.tf), and for each datascience workflow with autoscaling one alarm per rule
 * over all its model deployments (`deploymentAlarmDefinitions`, terraform/datascience.tf), each
 * with the workflow's policy: enabled, delivering to the alarms topic, the body scale-dac routes
 * on, the policy's thresholds, intervals and pending durations, and (deployments) split per
 * metric stream.
 */
import { policyFromAutoscaling } from '#shared/pipeline/scale.ts';
import {
  clusterAlarmDefinitions,
  deploymentAlarmDefinitions,
  deploymentNamespace,
  type AlarmDefinition,
} from '#shared/scaling/alarm-definitions.ts';
import type { ScalingRule } from '#shared/scaling/alarm.ts';
import type { ScalingPolicy } from '#shared/scaling/policy.ts';
import { alarmRulesFor, type AlarmRuleSpec } from '#shared/scaling/simulate.ts';
import { isOcid, type Workflow } from '#workflows/schema.ts';
import { describeCallError, ServiceCallError } from './errors.ts';
import { diffJson } from './json-diff.ts';
import type {
  AlarmSummaryView,
  AlarmView,
  ClusterView,
  GenAiPort,
  MonitoringPort,
  TopicView,
} from './ports.ts';
import { CheckId, fail, ok, TargetMode, warn, type DoctorTarget, type Finding } from './types.ts';

/** A hosting cluster some workflow autoscales, with that workflow's policy. */
export interface ManagedCluster {
  /** As the workflow names it: an OCID or a display name. */
  ref: string;
  workflow: string;
  policy: ScalingPolicy;
}

/**
 * The clusters scale-dac manages: every `genai.hostingClusters` entry of a workflow with an
 * `autoscaling` section. A cluster listed twice belongs to the first workflow, as `managingWorkflow`
 * decides in scale-dac.
 */
export function managedClusters(workflows: readonly Workflow[]): {
  clusters: ManagedCluster[];
  findings: Finding[];
} {
  const clusters: ManagedCluster[] = [];
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const w of workflows) {
    if (!w.genai) continue;
    const policy = policyOf(w, findings);
    if (!policy) continue;
    for (const ref of w.genai.hostingClusters) {
      if (seen.has(ref)) continue;
      seen.add(ref);
      clusters.push({ ref, workflow: w.name, policy });
    }
  }
  return { clusters, findings };
}

/** A datascience workflow with autoscaling: scale-dac resizes the model deployments it created. */
export interface ManagedDeployments {
  workflow: string;
  policy: ScalingPolicy;
  /** `autoscaling.utilization.metric` (the schema defaults it to GPUCoreUtilization). */
  utilizationMetric?: string;
}

/** The datascience workflows whose model deployments scale-dac resizes (`autoscaling` set). */
export function managedDeployments(workflows: readonly Workflow[]): {
  deployments: ManagedDeployments[];
  findings: Finding[];
} {
  const deployments: ManagedDeployments[] = [];
  const findings: Finding[] = [];
  for (const w of workflows) {
    if (!w.datascience) continue;
    const policy = policyOf(w, findings);
    if (!policy) continue;
    const u = w.autoscaling?.utilization;
    deployments.push({
      workflow: w.name,
      policy,
      ...(u?.source === 'metric' ? { utilizationMetric: u.metric } : {}),
    });
  }
  return { deployments, findings };
}

/** The workflow's scaling policy; undefined without autoscaling, or (with a finding) when invalid. */
function policyOf(w: Workflow, findings: Finding[]): ScalingPolicy | undefined {
  if (!w.autoscaling) return undefined;
  try {
    return policyFromAutoscaling(w.autoscaling);
  } catch (err) {
    findings.push(
      fail(
        CheckId.ALARM,
        `workflow ${w.name}'s autoscaling section is not a valid scaling policy: ${describeCallError(err)}`,
        `fix the autoscaling section of workflow ${w.name} (docs/autoscaling.md); scale-dac rejects its alarms until then`,
      ),
    );
    return undefined;
  }
}

/**
 * The parts of an alarm query dacflow sets: `Metric[Nm]{dims}.groupBy(dims).stat() OP threshold`
 * (a hosting cluster's query filters on the cluster; a model-deployment query groups by
 * `resourceId` instead).
 */
export interface ParsedQuery {
  metric: string;
  intervalMin: number;
  filter: string;
  /** The dimensions of `.groupBy(...)`; empty without one. */
  groupBy: string[];
  statistic: string;
  operator: string;
  threshold: number;
}

const queryPattern =
  /^\s*([A-Za-z][\w.$-]*)\s*\[\s*(\d+)m\s*\]\s*(\{[^}]*\})?\s*(?:\.\s*groupBy\s*\(([^)]*)\)\s*)?((?:\.\s*[A-Za-z]+\([^)]*\)\s*)+)(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$/;

/** Parses the one query shape dacflow creates; undefined for anything else (MQL is larger). */
export function parseAlarmQuery(query: string): ParsedQuery | undefined {
  const m = queryPattern.exec(query);
  if (!m) return undefined;
  const groupBy = m[4] === undefined ? [] : m[4].split(',').map((d) => d.trim());
  if (groupBy.some((d) => d === '')) return undefined;
  return {
    metric: m[1]!,
    intervalMin: Number(m[2]),
    filter: m[3] ?? '',
    groupBy,
    statistic: m[5]!.replace(/\s+/g, ''),
    operator: m[6]!,
    threshold: Number(m[7]),
  };
}

/** Whole minutes of an ISO-8601 duration such as PT5M, PT1H or P1D; undefined otherwise. */
export function isoMinutes(duration: string): number | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(duration);
  if (!m || duration === 'P' || duration.endsWith('T')) return undefined;
  return Number(m[1] ?? 0) * 1440 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

const isoOf = (min: number) => (min % 60 === 0 && min <= 1440 ? `PT${min / 60}H` : `PT${min}M`);

/** Terraform variables that set each rule's numbers (terraform/monitoring.tf). */
const tfVars: Record<ScalingRule, { threshold: string; interval: string; pending: string }> = {
  'latency-p99-high': {
    threshold: 'latency_p99_high_threshold_ms',
    interval: 'latency_interval',
    pending: 'latency_pending_duration',
  },
  'utilization-high': {
    threshold: 'utilization_high_threshold_pct',
    interval: 'utilization_high_interval',
    pending: 'utilization_high_pending_duration',
  },
  'utilization-low': {
    threshold: 'utilization_low_threshold_pct',
    interval: 'utilization_interval',
    pending: 'utilization_low_pending_duration',
  },
  'utilization-sustained-low': {
    threshold: 'utilization_sustained_low_threshold_pct',
    interval: 'utilization_sustained_interval',
    pending: 'utilization_sustained_low_pending_duration',
  },
};

/** The workflow field that sets a rule's number, where a workflow sets it (terraform/datascience.tf). */
const workflowFields: Record<ScalingRule, { threshold: string; pending?: string }> = {
  'latency-p99-high': { threshold: 'latencyP99ThresholdMs' },
  'utilization-high': { threshold: 'highUtilizationPct' },
  'utilization-low': { threshold: 'lowUtilizationPct' },
  'utilization-sustained-low': {
    threshold: 'sustainedLowUtilizationPct',
    pending: 'sustainedLowWindowMin',
  },
};

function parseBody(body: string | undefined): unknown {
  if (body === undefined) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/** The `dacflow` section of an alarm's body, when it has one. */
function dacflowBody(alarm: AlarmView): Record<string, unknown> | undefined {
  const body = parseBody(alarm.body);
  if (typeof body !== 'object' || body === null || !('dacflow' in body)) return undefined;
  const d = (body as { dacflow: unknown }).dacflow;
  return typeof d === 'object' && d !== null ? (d as Record<string, unknown>) : undefined;
}

const longestFirst = Object.keys(workflowFields).sort((a, b) => b.length - a.length);

/** Which rule an alarm of this cluster is for: its body first, then ruleName, then its name. */
function ruleOf(alarm: AlarmView, clusterId: string): string | undefined {
  const d = dacflowBody(alarm);
  if (d?.clusterId === clusterId && typeof d.rule === 'string') return d.rule;
  if (alarm.ruleName && alarm.ruleName !== 'BASE') return alarm.ruleName;
  return longestFirst.find((r) => alarm.displayName.endsWith(`-${r}`));
}

/**
 * Which rule an alarm of this workflow's model deployments is for: a body naming the workflow
 * first, then (for an alarm whose body names no dacflow owner) ruleName or the display name
 * `<name_prefix>-<workflow>-deployments-<rule>` that Terraform and the local stack give it.
 * Their queries name no resource, so the body or the name is what ties one to its workflow.
 */
function deploymentRuleOf(
  alarm: AlarmView,
  workflow: string,
  namePrefix: string,
): string | undefined {
  const d = dacflowBody(alarm);
  const head = `${namePrefix}-${workflow}-deployments-`;
  if (d?.workflow === workflow) {
    if (typeof d.rule === 'string') return d.rule;
  } else if (d?.workflow !== undefined || d?.clusterId !== undefined) {
    return undefined; // another workflow's, or a hosting cluster's
  } else if (!alarm.displayName.startsWith(head)) {
    return undefined;
  }
  if (alarm.ruleName && alarm.ruleName !== 'BASE') return alarm.ruleName;
  return longestFirst.find((r) => alarm.displayName === `${head}${r}`);
}

/**
 * Whose alarms: a hosting cluster (each query names it; metric names are Terraform variables, so
 * only the numbers are compared) or a workflow's model deployments (one alarm over all of them,
 * on OCI's own documented metrics, so the whole query is compared).
 */
type AlarmOwner =
  | { kind: 'cluster'; label: string; workflow: string; clusterId: string }
  | { kind: 'deployments'; label: string; workflow: string };

interface ClusterRef {
  id: string;
  label: string;
}

async function resolveCluster(
  target: DoctorTarget,
  genai: GenAiPort,
  c: ManagedCluster,
): Promise<{ cluster?: ClusterRef; findings: Finding[] }> {
  const what = `hosting cluster ${c.ref} (workflow ${c.workflow})`;
  const unreachableFix = `check that the GenAI endpoint is reachable${target.mode === TargetMode.LOCAL ? ' (start the local stack with the Generative AI emulator service)' : ' and the user may `read generative-ai-family`'}`;
  let found: ClusterView | undefined;
  try {
    if (isOcid(c.ref)) {
      found = await genai.getCluster(c.ref);
    } else {
      const matches = await genai.findClusters(target.compartmentId, c.ref);
      if (matches.length > 1) {
        const first = matches[0]!;
        const pick = { id: first.id, label: `${c.ref} (${first.id})` };
        return {
          cluster: pick,
          findings: [
            warn(
              CheckId.CLUSTER,
              `${matches.length} dedicated AI clusters are named ${c.ref} in compartment ${target.compartmentId} (${matches.map((m) => m.id).join(', ')}); checking ${first.id}`,
              `name the cluster by OCID in workflow ${c.workflow}'s genai.hostingClusters`,
            ),
          ],
        };
      }
      found = matches[0];
    }
  } catch (err) {
    if (err instanceof ServiceCallError && err.unreachable) {
      if (isOcid(c.ref)) {
        return {
          cluster: { id: c.ref, label: c.ref },
          findings: [
            warn(
              CheckId.CLUSTER,
              `Generative AI not reachable (${describeCallError(err)}): cannot confirm that ${what} exists; its alarms are checked anyway`,
              unreachableFix,
            ),
          ],
        };
      }
      return {
        findings: [
          warn(
            CheckId.CLUSTER,
            `Generative AI not reachable (${describeCallError(err)}): cannot resolve the display name of ${what}, so its alarms are not checked`,
            `${unreachableFix}, or name the cluster by OCID in the workflow`,
          ),
        ],
      };
    }
    return {
      findings: [
        fail(
          CheckId.CLUSTER,
          `cannot look up ${what}: ${describeCallError(err)}`,
          `check that the OCI user may \`read generative-ai-dedicated-ai-cluster\` in compartment ${target.compartmentId}`,
        ),
      ],
    };
  }
  if (!found) {
    return {
      findings: [
        fail(
          CheckId.CLUSTER,
          `${what} does not exist${isOcid(c.ref) ? '' : ` in compartment ${target.compartmentId}`}: scale-dac cannot scale it and endpoints cannot be placed on it`,
          `create the cluster (terraform: create_hosting_cluster = true) or correct genai.hostingClusters in workflow ${c.workflow}`,
        ),
      ],
    };
  }
  const label = found.displayName ? `${found.displayName} (${found.id})` : found.id;
  const findings: Finding[] = [];
  if (found.type !== 'HOSTING') {
    findings.push(
      fail(
        CheckId.CLUSTER,
        `${what} is a ${found.type} cluster, expected HOSTING`,
        `list a HOSTING dedicated AI cluster in workflow ${c.workflow}'s genai.hostingClusters`,
      ),
    );
  } else if (found.lifecycleState !== 'ACTIVE') {
    findings.push(
      warn(
        CheckId.CLUSTER,
        `hosting cluster ${label} is ${found.lifecycleState}, expected ACTIVE`,
        found.lifecycleState === 'UPDATING' || found.lifecycleState === 'CREATING'
          ? 'wait for the update to finish and run doctor again'
          : `look at the cluster's lifecycleDetails in the Console; scale-dac does not act on a cluster that is not ACTIVE`,
      ),
    );
  } else {
    findings.push(
      ok(CheckId.CLUSTER, `hosting cluster ${label} (workflow ${c.workflow}) is ACTIVE`),
    );
  }
  return { cluster: { id: found.id, label }, findings };
}

/** What one alarm is held to: its rule's numbers under the policy, and the alarm dacflow creates. */
interface Expected {
  spec: AlarmRuleSpec;
  def: AlarmDefinition;
}

function expectedAlarms(
  owner: AlarmOwner,
  policy: ScalingPolicy,
  utilizationMetric?: string,
): Expected[] {
  const defs =
    owner.kind === 'cluster'
      ? clusterAlarmDefinitions(policy, owner.clusterId)
      : deploymentAlarmDefinitions(
          policy,
          owner.workflow,
          utilizationMetric ? { utilizationMetric } : {},
        );
  return alarmRulesFor(policy).map((spec) => ({
    spec,
    def: defs.find((d) => d.rule === spec.rule)!,
  }));
}

type Setting = 'threshold' | 'interval' | 'pending' | 'repeat';

/** Checks one alarm of either kind against what dacflow creates for its owner and rule. */
function alarmFindings(
  target: DoctorTarget,
  alarm: AlarmView,
  { spec, def }: Expected,
  owner: AlarmOwner,
  alarmsTopic: TopicView | undefined,
): Finding[] {
  const name = `alarm ${alarm.displayName} (${alarm.id}) for ${spec.rule} of ${owner.label}`;
  const deployments = owner.kind === 'deployments';
  const address = `oci_monitoring_alarm.deployment_scaling["${owner.workflow}-${spec.rule}"]`;
  const tenancy = target.mode === TargetMode.TENANCY;
  /**
   * Where a number is set: a Terraform variable for a hosting cluster; for model deployments the
   * workflow's own autoscaling field where there is one (Terraform takes it over the variable).
   */
  const setting = (what: Setting): string => {
    const vars = tfVars[spec.rule];
    const fields = workflowFields[spec.rule];
    const field = { ...fields, interval: undefined, repeat: 'alarmRepeatMin' }[what];
    const value = {
      threshold: spec.threshold,
      interval: spec.intervalMin,
      pending: spec.pendingMin,
      repeat: spec.repeatMin,
    }[what];
    if (deployments && field)
      return `autoscaling.${field}: ${value} in workflow ${owner.workflow}'s file`;
    const text = {
      threshold: `${vars.threshold} = ${value}`,
      interval: `${vars.interval} = "${value}m"`,
      pending: `${vars.pending} = "${isoOf(value)}"`,
      repeat: `alarm_repeat_notification_duration = "${isoOf(value)}"`,
    }[what];
    return deployments ? `${text} in your terraform.tfvars` : text;
  };
  const tf = (settings: string[]) => {
    if (!tenancy) return `update alarm ${alarm.id} (UpdateAlarm)`;
    if (!deployments) {
      return `set ${settings.join(' and ')} in your terraform.tfvars and run \`terraform apply\`, or update alarm ${alarm.id} directly`;
    }
    const set = settings.length > 0 ? `set ${settings.join(' and ')}, then ` : '';
    return `${set}run \`terraform apply\` (${address}), or update alarm ${alarm.id} directly`;
  };
  const out: Finding[] = [];
  if (!alarm.isEnabled) {
    out.push(
      fail(
        CheckId.ALARM,
        `${name} is disabled: ${deployments ? 'the deployments do not scale' : 'the cluster does not scale'} on ${spec.rule}`,
        `enable it: \`oci monitoring alarm update --alarm-id ${alarm.id} --is-enabled true\`${tenancy ? ' (Terraform: alarms_enabled = true)' : ''}`,
      ),
    );
  }
  if (alarmsTopic && !alarm.destinations.includes(alarmsTopic.id)) {
    out.push(
      fail(
        CheckId.ALARM,
        `${name} has destinations [${alarm.destinations.join(', ')}], expected the alarms topic ${alarmsTopic.name} (${alarmsTopic.id}): scale-dac never hears of it`,
        tenancy
          ? `run \`terraform apply\` (it sets destinations to the alarms topic), or \`oci monitoring alarm update --alarm-id ${alarm.id} --destinations '["${alarmsTopic.id}"]'\``
          : `update alarm ${alarm.id} (UpdateAlarm): destinations = ["${alarmsTopic.id}"]`,
      ),
    );
  }
  const bodyDiffs = diffJson(parseBody(alarm.body), JSON.parse(def.body));
  if (bodyDiffs.length > 0) {
    out.push(
      fail(
        CheckId.ALARM,
        `${name} has body ${alarm.body === undefined ? '(none)' : JSON.stringify(alarm.body)}, expected ${def.body}: scale-dac routes on the body (${bodyDiffs.join('; ')})`,
        `set the body to ${def.body}: \`oci monitoring alarm update --alarm-id ${alarm.id} --body '${def.body}'\``,
      ),
    );
  }
  if (deployments && alarm.namespace !== def.namespace) {
    out.push(
      fail(
        CheckId.ALARM,
        `${name} watches namespace ${alarm.namespace}, expected ${def.namespace}: it never sees a model deployment's metrics`,
        tenancy
          ? `run \`terraform apply\` (${address}), or \`oci monitoring alarm update --alarm-id ${alarm.id} --namespace ${def.namespace}\``
          : `update alarm ${alarm.id} (UpdateAlarm): namespace = ${def.namespace}`,
      ),
    );
  }
  if (def.splitPerStream && alarm.isNotificationsPerMetricDimensionEnabled !== true) {
    out.push(
      fail(
        CheckId.ALARM,
        `${name} groups notifications across metric streams (isNotificationsPerMetricDimensionEnabled is ${alarm.isNotificationsPerMetricDimensionEnabled ?? false}): when two deployments breach together scale-dac gets one message naming both and refuses it (ALARM_TARGET_AMBIGUOUS), and a deployment that breaches while another fires is never announced`,
        tenancy
          ? `run \`terraform apply\` (${address} sets is_notifications_per_metric_dimension_enabled = true), or \`oci monitoring alarm update --alarm-id ${alarm.id} --is-notifications-per-metric-dimension-enabled true\``
          : `update alarm ${alarm.id} (UpdateAlarm): isNotificationsPerMetricDimensionEnabled = true`,
      ),
    );
  }
  const q = parseAlarmQuery(alarm.query);
  const want = parseAlarmQuery(def.query)!;
  if (!q) {
    out.push(
      fail(
        CheckId.ALARM,
        `${name} has a query doctor cannot read: ${JSON.stringify(alarm.query)}`,
        deployments
          ? `${tf([])}: query ${def.query}`
          : `use dacflow's query shape, e.g. ${def.query}: ${tf(['the metric variables'])}`,
      ),
    );
  } else {
    const wantOps = spec.comparison === 'above' ? ['>', '>='] : ['<', '<='];
    // Terraform converts a hosting cluster's millisecond threshold when latency_metric_unit = "s";
    // PredictLatency is documented in milliseconds (metrics-model-deploy.htm).
    const thresholds =
      !deployments && spec.metric === 'p99LatencyMs'
        ? [spec.threshold, spec.threshold / 1000]
        : [spec.threshold];
    const diffs: string[] = [];
    const settings: string[] = [];
    if (!wantOps.includes(q.operator)) diffs.push(`operator ${q.operator}, expected ${wantOps[0]}`);
    if (!thresholds.includes(q.threshold)) {
      diffs.push(`threshold ${q.threshold}, expected ${spec.threshold}`);
      settings.push(setting('threshold'));
    }
    if (q.intervalMin !== spec.intervalMin) {
      diffs.push(`interval ${q.intervalMin}m, expected ${spec.intervalMin}m`);
      settings.push(setting('interval'));
    }
    if (deployments) {
      // OCI's own metric names and dimension: the whole query is dacflow's.
      if (q.metric !== want.metric) diffs.push(`metric ${q.metric}, expected ${want.metric}`);
      if (q.filter !== '') {
        diffs.push(
          `dimension filter ${q.filter}, expected none (one alarm covers every deployment)`,
        );
      }
      if (q.groupBy.join(',') !== want.groupBy.join(',')) {
        const got = q.groupBy.length > 0 ? `groupBy(${q.groupBy.join(', ')})` : 'no groupBy()';
        diffs.push(
          `${got}, expected groupBy(${want.groupBy.join(', ')}) (one stream per deployment)`,
        );
      }
      if (q.statistic !== want.statistic) {
        diffs.push(`statistic ${q.statistic.slice(1)}, expected ${want.statistic.slice(1)}`);
      }
    }
    if (diffs.length > 0) {
      const fixed = deployments
        ? def.query
        : `${q.metric}[${spec.intervalMin}m]${q.filter}${q.statistic} ${wantOps.includes(q.operator) ? q.operator : wantOps[0]} ${thresholds.includes(q.threshold) ? q.threshold : spec.threshold}`;
      out.push(
        fail(
          CheckId.ALARM,
          `${name} has query ${JSON.stringify(alarm.query)}: ${diffs.join('; ')}`,
          `${tf(deployments ? settings : [setting('threshold'), setting('interval')])}: query ${fixed}`,
        ),
      );
    }
  }
  const pending = isoMinutes(alarm.pendingDuration ?? 'PT1M');
  if (pending !== spec.pendingMin) {
    out.push(
      fail(
        CheckId.ALARM,
        `${name} has pendingDuration ${alarm.pendingDuration ?? '(default PT1M)'}, expected ${isoOf(spec.pendingMin)}`,
        `${tf([setting('pending')])}: pendingDuration = ${isoOf(spec.pendingMin)}`,
      ),
    );
  }
  const repeat =
    alarm.repeatNotificationDuration == null
      ? undefined
      : isoMinutes(alarm.repeatNotificationDuration);
  if (repeat !== spec.repeatMin) {
    out.push(
      warn(
        CheckId.ALARM,
        `${name} has repeatNotificationDuration ${alarm.repeatNotificationDuration ?? '(none)'}, expected ${isoOf(spec.repeatMin)}: a message scale-dac ignored (cooldown) is not repeated on time`,
        `${tf([setting('repeat')])}: repeatNotificationDuration = ${isoOf(spec.repeatMin)}`,
      ),
    );
  }
  if (out.length === 0) {
    out.push(
      ok(
        CheckId.ALARM,
        `${name} is enabled, notifies ${alarmsTopic?.name ?? 'its topic'}, ${deployments ? 'splits notifications per deployment, ' : ''}and matches the workflow's policy (threshold ${spec.threshold}, ${spec.intervalMin}m, pending ${isoOf(spec.pendingMin)})`,
      ),
    );
  }
  return out;
}

const plural = (n: number, word: string) => `${n} ${word}${n > 1 ? 's' : ''}`;

export async function checkAlarms(
  target: DoctorTarget,
  genai: GenAiPort,
  monitoring: MonitoringPort,
  alarmsTopic: TopicView | undefined,
): Promise<Finding[]> {
  const { clusters, findings } = managedClusters(target.workflows);
  const managed = managedDeployments(target.workflows);
  findings.push(...managed.findings);
  const { deployments } = managed;
  if (clusters.length === 0 && deployments.length === 0) return findings;

  // Resolve every cluster first: their findings stand even when Monitoring cannot be reached.
  const resolved: { c: ManagedCluster; cluster: ClusterRef }[] = [];
  for (const c of clusters) {
    const r = await resolveCluster(target, genai, c);
    findings.push(...r.findings);
    if (r.cluster) resolved.push({ c, cluster: r.cluster });
  }
  if (resolved.length === 0 && deployments.length === 0) return findings;

  let summaries: AlarmSummaryView[];
  try {
    summaries = (await monitoring.listAlarms(target.compartmentId)).filter(
      (a) => a.lifecycleState !== 'DELETED',
    );
  } catch (err) {
    const unreachable = err instanceof ServiceCallError && err.unreachable;
    const unchecked = [
      ...(resolved.length > 0
        ? [
            `${plural(resolved.length, 'hosting cluster')} (${resolved.map((r) => r.cluster.label).join(', ')})`,
          ]
        : []),
      ...(deployments.length > 0
        ? [
            `the model deployments of ${deployments.length > 1 ? 'workflows' : 'workflow'} ${deployments.map((d) => d.workflow).join(', ')}`,
          ]
        : []),
    ].join(' and of ');
    findings.push(
      (unreachable ? warn : fail)(
        CheckId.ALARM,
        unreachable
          ? `Monitoring not reachable (${describeCallError(err)}): the scaling alarms of ${unchecked} were not checked`
          : `cannot list alarms in compartment ${target.compartmentId}: ${describeCallError(err)}`,
        unreachable
          ? target.mode === TargetMode.LOCAL
            ? 'start the local stack with the Monitoring emulator service, then run doctor again'
            : 'check the Monitoring endpoint (region, network, DACFLOW_OCI_ENDPOINT) and run doctor again'
          : `check that the OCI user may \`read alarms\` in compartment ${target.compartmentId}`,
      ),
    );
    return findings;
  }

  const details = new Map<string, Promise<AlarmView>>();
  const unreadable = new Set<string>();
  /** The full alarms of these summaries (GetAlarm, once each); unreadable ones are reported. */
  const load = async (picked: AlarmSummaryView[]): Promise<AlarmView[]> => {
    const out: AlarmView[] = [];
    for (const s of picked) {
      let p = details.get(s.id);
      if (!p) details.set(s.id, (p = monitoring.getAlarm(s.id)));
      try {
        out.push(await p);
      } catch (err) {
        if (unreadable.has(s.id)) continue;
        unreadable.add(s.id);
        findings.push(
          fail(
            CheckId.ALARM,
            `cannot read alarm ${s.displayName} (${s.id}): ${describeCallError(err)}`,
            `check that the OCI user may \`read alarms\` in compartment ${target.compartmentId}`,
          ),
        );
      }
    }
    return out;
  };
  /** One alarm per rule: a missing one fails, duplicates warn, each present one is checked. */
  const checkRules = (
    owner: AlarmOwner,
    expected: Expected[],
    candidates: AlarmView[],
    ruleOfAlarm: (a: AlarmView) => string | undefined,
    missing: (e: Expected) => Finding,
  ) => {
    for (const e of expected) {
      const mine = candidates.filter((a) => ruleOfAlarm(a) === e.spec.rule);
      if (mine.length === 0) {
        findings.push(missing(e));
        continue;
      }
      if (mine.length > 1) {
        findings.push(
          warn(
            CheckId.ALARM,
            `${mine.length} ${e.spec.rule} alarms for ${owner.label} (${mine.map((a) => a.id).join(', ')}): scale-dac hears each firing once per alarm`,
            'delete all but one (`oci monitoring alarm delete --alarm-id <id>`)',
          ),
        );
      }
      for (const a of mine) findings.push(...alarmFindings(target, a, e, owner, alarmsTopic));
    }
  };
  const createFix = (def: AlarmDefinition) =>
    `create it (CreateAlarm) in compartment ${target.compartmentId}: ${def.splitPerStream ? `namespace ${def.namespace}, ` : ''}query ${def.query}, ${def.splitPerStream ? 'isNotificationsPerMetricDimensionEnabled true, ' : ''}pendingDuration ${isoOf(def.pendingMin)}, repeatNotificationDuration ${isoOf(def.repeatMin)}, destinations [${alarmsTopic?.id ?? 'the alarms topic'}], body ${def.body}`;

  for (const { c, cluster } of resolved) {
    const owner: AlarmOwner = {
      kind: 'cluster',
      label: `cluster ${cluster.label}`,
      workflow: c.workflow,
      clusterId: cluster.id,
    };
    const candidates = await load(summaries.filter((a) => a.query.includes(cluster.id)));
    // Terraform names alarms <name_prefix>-<short name>-<rule>: a sibling alarm gives the short name.
    const shortName = candidates
      .map((a) => {
        const rule = ruleOf(a, cluster.id);
        const head = `${target.namePrefix}-`;
        return rule && a.displayName.startsWith(head) && a.displayName.endsWith(`-${rule}`)
          ? a.displayName.slice(head.length, -rule.length - 1)
          : undefined;
      })
      .find((n) => n !== undefined && n !== '');
    checkRules(
      owner,
      expectedAlarms(owner, c.policy),
      candidates,
      (a) => ruleOf(a, cluster.id),
      ({ spec, def }) =>
        fail(
          CheckId.ALARM,
          `no ${spec.rule} alarm for hosting cluster ${cluster.label} (workflow ${c.workflow}): scale-dac never scales it on ${spec.rule}`,
          target.mode === TargetMode.TENANCY
            ? shortName !== undefined
              ? `run \`terraform apply\`: it re-creates ${target.namePrefix}-${shortName}-${spec.rule} (oci_monitoring_alarm.scaling["${shortName}-${spec.rule}"])`
              : `list the cluster in hosting_cluster_ids (e.g. { <short-name> = "${cluster.id}" }) and run \`terraform apply\`: it creates ${target.namePrefix}-<short-name>-${spec.rule}`
            : createFix(def),
        ),
    );
  }

  for (const d of deployments) {
    const owner: AlarmOwner = {
      kind: 'deployments',
      label: `the model deployments of workflow ${d.workflow}`,
      workflow: d.workflow,
    };
    const named = `${target.namePrefix}-${d.workflow}-deployments-`;
    // Their queries name no resource: the namespace or Terraform's display name picks them out.
    const candidates = await load(
      summaries.filter(
        (a) => a.namespace === deploymentNamespace || a.displayName.startsWith(named),
      ),
    );
    checkRules(
      owner,
      expectedAlarms(owner, d.policy, d.utilizationMetric),
      candidates,
      (a) => deploymentRuleOf(a, d.workflow, target.namePrefix),
      ({ spec, def }) =>
        fail(
          CheckId.ALARM,
          `no ${spec.rule} alarm for the model deployments of workflow ${d.workflow}: scale-dac never resizes them on ${spec.rule}`,
          target.mode === TargetMode.TENANCY
            ? `run \`terraform apply\` with enable_datascience = true and workflow ${d.workflow}'s file in workflow_files: it creates ${named}${spec.rule} (oci_monitoring_alarm.deployment_scaling["${d.workflow}-${spec.rule}"])`
            : createFix(def),
        ),
    );
  }
  return findings;
}
