/**
 * The scaling alarms of each managed hosting cluster: one per rule of `alarmRulesFor(policy)`,
 * enabled, delivering to the alarms topic, with the workflow's thresholds, intervals and pending
 * durations, and a body equal to `formatAlarmBody()` (scale-dac routes on it).
 */
import { policyFromAutoscaling } from '#shared/pipeline/scale.ts';
import { formatAlarmBody, type ScalingRule } from '#shared/scaling/alarm.ts';
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
    if (!w.autoscaling || !w.genai) continue;
    let policy: ScalingPolicy;
    try {
      policy = policyFromAutoscaling(w.autoscaling);
    } catch (err) {
      findings.push(
        fail(
          CheckId.ALARM,
          `workflow ${w.name}'s autoscaling section is not a valid scaling policy: ${describeCallError(err)}`,
          `fix the autoscaling section of workflow ${w.name} (docs/autoscaling.md); scale-dac rejects its alarms until then`,
        ),
      );
      continue;
    }
    for (const ref of w.genai.hostingClusters) {
      if (seen.has(ref)) continue;
      seen.add(ref);
      clusters.push({ ref, workflow: w.name, policy });
    }
  }
  return { clusters, findings };
}

/** The parts of an alarm query dacflow sets: `Metric[Nm]{dims}.stat() OP threshold`. */
export interface ParsedQuery {
  metric: string;
  intervalMin: number;
  filter: string;
  statistic: string;
  operator: string;
  threshold: number;
}

const queryPattern =
  /^\s*([A-Za-z][\w.$-]*)\s*\[\s*(\d+)m\s*\]\s*(\{[^}]*\})?\s*((?:\.\s*[A-Za-z]+\([^)]*\)\s*)+)(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$/;

/** Parses the one query shape dacflow creates; undefined for anything else (MQL is larger). */
export function parseAlarmQuery(query: string): ParsedQuery | undefined {
  const m = queryPattern.exec(query);
  if (!m) return undefined;
  return {
    metric: m[1]!,
    intervalMin: Number(m[2]),
    filter: m[3] ?? '',
    statistic: m[4]!.replace(/\s+/g, ''),
    operator: m[5]!,
    threshold: Number(m[6]),
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

/** The query Terraform's defaults produce for a rule (the metric names are configurable there). */
function defaultQuery(spec: AlarmRuleSpec, clusterId: string): string {
  const op = spec.comparison === 'above' ? '>' : '<';
  return spec.metric === 'p99LatencyMs'
    ? `InvocationLatency[${spec.intervalMin}m]{resourceId = "${clusterId}"}.percentile(0.99) ${op} ${spec.threshold}`
    : `DerivedUtilization[${spec.intervalMin}m]{resourceId = "${clusterId}"}.mean() ${op} ${spec.threshold}`;
}

function parseBody(body: string | undefined): unknown {
  if (body === undefined) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/** Which rule an alarm of this cluster is for: its body first, then ruleName, then its name. */
function ruleOf(alarm: AlarmView, clusterId: string): string | undefined {
  const body = parseBody(alarm.body) as { dacflow?: { clusterId?: unknown; rule?: unknown } };
  if (body && typeof body === 'object' && body.dacflow?.clusterId === clusterId) {
    if (typeof body.dacflow.rule === 'string') return body.dacflow.rule;
  }
  if (alarm.ruleName && alarm.ruleName !== 'BASE') return alarm.ruleName;
  const rules = Object.keys(tfVars).sort((a, b) => b.length - a.length);
  return rules.find((r) => alarm.displayName.endsWith(`-${r}`));
}

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

function alarmFindings(
  target: DoctorTarget,
  alarm: AlarmView,
  spec: AlarmRuleSpec,
  cluster: ClusterRef,
  alarmsTopic: TopicView | undefined,
): Finding[] {
  const name = `alarm ${alarm.displayName} (${alarm.id}) for ${spec.rule} of cluster ${cluster.label}`;
  const vars = tfVars[spec.rule];
  const tf = (setting: string) =>
    target.mode === TargetMode.TENANCY
      ? `set ${setting} in your terraform.tfvars and run \`terraform apply\`, or update alarm ${alarm.id} directly`
      : `update alarm ${alarm.id} (UpdateAlarm)`;
  const out: Finding[] = [];
  if (!alarm.isEnabled) {
    out.push(
      fail(
        CheckId.ALARM,
        `${name} is disabled: the cluster does not scale on ${spec.rule}`,
        `enable it: \`oci monitoring alarm update --alarm-id ${alarm.id} --is-enabled true\`${target.mode === TargetMode.TENANCY ? ' (Terraform: alarms_enabled = true)' : ''}`,
      ),
    );
  }
  if (alarmsTopic && !alarm.destinations.includes(alarmsTopic.id)) {
    out.push(
      fail(
        CheckId.ALARM,
        `${name} has destinations [${alarm.destinations.join(', ')}], expected the alarms topic ${alarmsTopic.name} (${alarmsTopic.id}): scale-dac never hears of it`,
        target.mode === TargetMode.TENANCY
          ? `run \`terraform apply\` (it sets destinations to the alarms topic), or \`oci monitoring alarm update --alarm-id ${alarm.id} --destinations '["${alarmsTopic.id}"]'\``
          : `update alarm ${alarm.id} (UpdateAlarm): destinations = ["${alarmsTopic.id}"]`,
      ),
    );
  }
  const expectedBody = formatAlarmBody(cluster.id, spec.rule);
  const bodyDiffs = diffJson(parseBody(alarm.body), JSON.parse(expectedBody));
  if (bodyDiffs.length > 0) {
    out.push(
      fail(
        CheckId.ALARM,
        `${name} has body ${alarm.body === undefined ? '(none)' : JSON.stringify(alarm.body)}, expected ${expectedBody}: scale-dac routes on the body (${bodyDiffs.join('; ')})`,
        `set the body to ${expectedBody}: \`oci monitoring alarm update --alarm-id ${alarm.id} --body '${expectedBody}'\``,
      ),
    );
  }
  const q = parseAlarmQuery(alarm.query);
  if (!q) {
    out.push(
      fail(
        CheckId.ALARM,
        `${name} has a query doctor cannot read: ${JSON.stringify(alarm.query)}`,
        `use dacflow's query shape, e.g. ${defaultQuery(spec, cluster.id)}: ${tf('the metric variables')}`,
      ),
    );
  } else {
    const wantOps = spec.comparison === 'above' ? ['>', '>='] : ['<', '<='];
    // Terraform converts the millisecond threshold when latency_metric_unit = "s".
    const thresholds =
      spec.metric === 'p99LatencyMs' ? [spec.threshold, spec.threshold / 1000] : [spec.threshold];
    const diffs: string[] = [];
    if (!wantOps.includes(q.operator)) diffs.push(`operator ${q.operator}, expected ${wantOps[0]}`);
    if (!thresholds.includes(q.threshold)) {
      diffs.push(`threshold ${q.threshold}, expected ${spec.threshold}`);
    }
    if (q.intervalMin !== spec.intervalMin) {
      diffs.push(`interval ${q.intervalMin}m, expected ${spec.intervalMin}m`);
    }
    if (diffs.length > 0) {
      const fixed = `${q.metric}[${spec.intervalMin}m]${q.filter}${q.statistic} ${wantOps.includes(q.operator) ? q.operator : wantOps[0]} ${thresholds.includes(q.threshold) ? q.threshold : spec.threshold}`;
      out.push(
        fail(
          CheckId.ALARM,
          `${name} has query ${JSON.stringify(alarm.query)}: ${diffs.join('; ')}`,
          `${tf(`${vars.threshold} = ${spec.threshold} and ${vars.interval} = "${spec.intervalMin}m"`)}: query ${fixed}`,
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
        `${tf(`${vars.pending} = "${isoOf(spec.pendingMin)}"`)}: pendingDuration = ${isoOf(spec.pendingMin)}`,
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
        `${tf(`alarm_repeat_notification_duration = "${isoOf(spec.repeatMin)}"`)}: repeatNotificationDuration = ${isoOf(spec.repeatMin)}`,
      ),
    );
  }
  if (out.length === 0) {
    out.push(
      ok(
        CheckId.ALARM,
        `${name} is enabled, notifies ${alarmsTopic?.name ?? 'its topic'}, and matches the workflow's policy (threshold ${spec.threshold}, ${spec.intervalMin}m, pending ${isoOf(spec.pendingMin)})`,
      ),
    );
  }
  return out;
}

export async function checkAlarms(
  target: DoctorTarget,
  genai: GenAiPort,
  monitoring: MonitoringPort,
  alarmsTopic: TopicView | undefined,
): Promise<Finding[]> {
  const { clusters, findings } = managedClusters(target.workflows);
  if (clusters.length === 0) return findings;

  // Resolve every cluster first: their findings stand even when Monitoring cannot be reached.
  const resolved: { c: ManagedCluster; cluster: ClusterRef }[] = [];
  for (const c of clusters) {
    const r = await resolveCluster(target, genai, c);
    findings.push(...r.findings);
    if (r.cluster) resolved.push({ c, cluster: r.cluster });
  }
  if (resolved.length === 0) return findings;

  let summaries: AlarmSummaryView[];
  try {
    summaries = (await monitoring.listAlarms(target.compartmentId)).filter(
      (a) => a.lifecycleState !== 'DELETED',
    );
  } catch (err) {
    const unreachable = err instanceof ServiceCallError && err.unreachable;
    findings.push(
      (unreachable ? warn : fail)(
        CheckId.ALARM,
        unreachable
          ? `Monitoring not reachable (${describeCallError(err)}): the scaling alarms of ${resolved.length} hosting cluster${resolved.length > 1 ? 's' : ''} (${resolved.map((r) => r.cluster.label).join(', ')}) were not checked`
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
  const getAlarm = (id: string) => {
    let p = details.get(id);
    if (!p) details.set(id, (p = monitoring.getAlarm(id)));
    return p;
  };

  for (const { c, cluster } of resolved) {
    const candidates: AlarmView[] = [];
    for (const s of summaries.filter((a) => a.query.includes(cluster.id))) {
      try {
        candidates.push(await getAlarm(s.id));
      } catch (err) {
        findings.push(
          fail(
            CheckId.ALARM,
            `cannot read alarm ${s.displayName} (${s.id}): ${describeCallError(err)}`,
            `check that the OCI user may \`read alarms\` in compartment ${target.compartmentId}`,
          ),
        );
      }
    }
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
    for (const spec of alarmRulesFor(c.policy)) {
      const mine = candidates.filter((a) => ruleOf(a, cluster.id) === spec.rule);
      if (mine.length === 0) {
        const body = formatAlarmBody(cluster.id, spec.rule);
        findings.push(
          fail(
            CheckId.ALARM,
            `no ${spec.rule} alarm for hosting cluster ${cluster.label} (workflow ${c.workflow}): scale-dac never scales it on ${spec.rule}`,
            target.mode === TargetMode.TENANCY
              ? shortName !== undefined
                ? `run \`terraform apply\`: it re-creates ${target.namePrefix}-${shortName}-${spec.rule} (oci_monitoring_alarm.scaling["${shortName}-${spec.rule}"])`
                : `list the cluster in hosting_cluster_ids (e.g. { <short-name> = "${cluster.id}" }) and run \`terraform apply\`: it creates ${target.namePrefix}-<short-name>-${spec.rule}`
              : `create it (CreateAlarm) in compartment ${target.compartmentId}: query ${defaultQuery(spec, cluster.id)}, pendingDuration ${isoOf(spec.pendingMin)}, repeatNotificationDuration ${isoOf(spec.repeatMin)}, destinations [${alarmsTopic?.id ?? 'the alarms topic'}], body ${body}`,
          ),
        );
        continue;
      }
      if (mine.length > 1) {
        findings.push(
          warn(
            CheckId.ALARM,
            `${mine.length} ${spec.rule} alarms for cluster ${cluster.label} (${mine.map((a) => a.id).join(', ')}): scale-dac hears each firing once per alarm`,
            'delete all but one (`oci monitoring alarm delete --alarm-id <id>`)',
          ),
        );
      }
      for (const a of mine) findings.push(...alarmFindings(target, a, spec, cluster, alarmsTopic));
    }
  }
  return findings;
}
