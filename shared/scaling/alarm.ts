import { z } from 'zod';
import { AlarmParseCode, AlarmParseError } from './errors.ts';

/**
 * OCI Monitoring's alarm message types: the official list is exactly these four
 * (monitoringoverview.htm#MessageTypes). `REPEAT` arrives only when the alarm has a repeat
 * notification duration; `RESET` means the metric stream went absent, not that the load dropped.
 */
export const AlarmMessageType = {
  OkToFiring: 'OK_TO_FIRING',
  FiringToOk: 'FIRING_TO_OK',
  Repeat: 'REPEAT',
  Reset: 'RESET',
} as const;
export type AlarmMessageType = (typeof AlarmMessageType)[keyof typeof AlarmMessageType];
const messageTypes = new Set<string>(Object.values(AlarmMessageType));

/**
 * The alarm rules dacflow creates per hosting cluster. Terraform names each alarm's rule in its
 * body with `formatAlarmBody()`'s format; `utilization-high` is dacflow's proactive rule (scale up
 * before latency breaks the SLO, since a cluster update takes minutes).
 */
export const ScalingRule = {
  LatencyP99High: 'latency-p99-high',
  UtilizationHigh: 'utilization-high',
  UtilizationLow: 'utilization-low',
  UtilizationSustainedLow: 'utilization-sustained-low',
} as const;
export type ScalingRule = (typeof ScalingRule)[keyof typeof ScalingRule];
export const scalingRules: readonly ScalingRule[] = Object.values(ScalingRule);
const ruleSet = new Set<string>(scalingRules);

/** How Notifications grouped the message: one per alarm, or one per metric stream. */
export const NotificationType = {
  Grouped: 'GROUPED',
  Split: 'SPLIT',
  Unknown: 'UNKNOWN',
} as const;
export type NotificationType = (typeof NotificationType)[keyof typeof NotificationType];

/** One alarm message reduced to what the scaling policy needs. Plain data. */
export interface AlarmSignal {
  /** `dedupeKey` + `timestamp`: the documented way to drop at-least-once duplicates. */
  dedupeId: string;
  type: AlarmMessageType;
  rule: ScalingRule;
  clusterId: string;
  timestampMs: number;
  severity: string;
  notificationType: NotificationType;
  /**
   * The workflow a model-deployment alarm belongs to (its body names the workflow, not a resource:
   * one alarm covers every deployment in a compartment and `clusterId` is the firing stream's
   * `resourceDimension`). Absent for hosting-cluster alarms.
   */
  workflow?: string;
  /** Alarm OCIDs named in the message (one for dacflow's alarms). */
  alarmIds: string[];
  /** Every finite metric value in the message, parsed from OCI's strings; may be empty. */
  metricValues: number[];
}

/**
 * Where dacflow's alarm bodies keep their routing data: a hosting-cluster alarm names its cluster;
 * a model-deployment alarm names its workflow (the deployment comes from the firing stream).
 */
export interface DacflowAlarmBody {
  dacflow: { clusterId: string; rule: ScalingRule } | { workflow: string; rule: ScalingRule };
}

const ruleSchema = z.enum(scalingRules as [ScalingRule, ...ScalingRule[]]);
const bodySchema = z.object({
  dacflow: z.union([
    z.strictObject({ clusterId: z.string().min(1).max(512), rule: ruleSchema }),
    z.strictObject({ workflow: z.string().min(1).max(64), rule: ruleSchema }),
  ]),
});

/**
 * The alarm `body` text dacflow's Terraform sets on each scaling alarm. Terraform can template the
 * same JSON with `jsonencode({ dacflow = { clusterId = ..., rule = "latency-p99-high" } })`.
 */
export function formatAlarmBody(clusterId: string, rule: ScalingRule): string {
  const body: DacflowAlarmBody = { dacflow: { clusterId, rule } };
  return JSON.stringify(body);
}

/**
 * The body of a workflow's model-deployment alarm (one per rule, covering every deployment in the
 * compartment, split per metric stream). Terraform: `jsonencode({ dacflow = { workflow = ...,
 * rule = ... } })`.
 */
export function formatDeploymentAlarmBody(workflow: string, rule: ScalingRule): string {
  const body: DacflowAlarmBody = { dacflow: { workflow, rule } };
  return JSON.stringify(body);
}

/** What `buildAlarmMessage` needs: one alarm's state change for one cluster. */
export interface AlarmMessageInput {
  dedupeKey: string;
  type: AlarmMessageType;
  rule: ScalingRule;
  clusterId: string;
  alarmId: string;
  timestampMs: number;
  /** The metric expression the alarm evaluates, e.g. `Utilization[5m].mean()`. */
  query: string;
  metricValue: number;
  severity?: string;
  /** Dimension that names the cluster (as `ParseAlarmOptions.resourceDimension`). */
  resourceDimension?: string;
}

/**
 * An alarm message shaped as OCI Monitoring delivers it (alarm-message-format.htm: grouped,
 * metric values as strings inside `alarmMetaData`), with dacflow's body. The simulator and local
 * emulators send these through `parseAlarmMessage`, so they exercise the real parsing path.
 */
export function buildAlarmMessage(input: AlarmMessageInput): Record<string, unknown> {
  const firing =
    input.type === AlarmMessageType.OkToFiring || input.type === AlarmMessageType.Repeat;
  const severity = input.severity ?? 'CRITICAL';
  return {
    dedupeKey: input.dedupeKey,
    title: `dacflow ${input.rule}`,
    body: formatAlarmBody(input.clusterId, input.rule),
    type: input.type,
    severity,
    timestampEpochMillis: input.timestampMs,
    timestamp: new Date(input.timestampMs).toISOString(),
    alarmMetaData: [
      {
        id: input.alarmId,
        status: firing ? 'FIRING' : 'OK',
        severity,
        namespace: 'oci_generativeai',
        query: input.query,
        totalMetricsFiring: firing ? 1 : 0,
        dimensions: [{ [input.resourceDimension ?? 'resourceId']: input.clusterId }],
        metricValues: [{ [input.query]: String(input.metricValue) }],
      },
    ],
    notificationType: 'Grouped messages across metric streams',
    version: 1.5,
  };
}

export interface ParseAlarmOptions {
  /**
   * The dimension that names the cluster when the body does not. OCI's GenAI dimension names are
   * not documented (oci-facts C: NOT FOUND), so this is configuration, `resourceId` by default.
   */
  resourceDimension?: string;
  /**
   * Largest message accepted, in UTF-16 code units of the text. Notifications caps a message at
   * 64 KB; the default leaves room for escaping and refuses anything absurd before JSON.parse.
   */
  maxMessageChars?: number;
}

export type AlarmParseResult =
  { ok: true; signal: AlarmSignal } | { ok: false; error: AlarmParseError };

const MAX_ELEMENTS = 1000;

function fail(code: AlarmParseCode, message: string, context?: Record<string, unknown>) {
  return { ok: false as const, error: new AlarmParseError(code, message, context) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Metric values are strings in OCI's payload (`{"<query>":"91.5"}`); numbers are tolerated. */
function collectValues(raw: unknown, into: number[]): void {
  if (!Array.isArray(raw)) return;
  for (const entry of raw.slice(0, MAX_ELEMENTS)) {
    if (!isRecord(entry)) continue;
    for (const v of Object.values(entry)) {
      const n =
        typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (Number.isFinite(n)) into.push(n);
    }
  }
}

/** Every distinct non-empty value of dimension `name`, in order of appearance. */
function dimensionValues(raw: unknown, name: string, into: Set<string>): void {
  if (!Array.isArray(raw)) return;
  for (const d of raw.slice(0, MAX_ELEMENTS)) {
    if (isRecord(d) && typeof d[name] === 'string' && d[name] !== '') into.add(d[name]);
  }
}

function parseNotificationType(v: unknown): NotificationType {
  if (typeof v !== 'string') return NotificationType.Unknown;
  const s = v.toLowerCase();
  // Documented values: "Grouped messages across metric streams" / "Split messages per metric stream".
  if (s.startsWith('grouped')) return NotificationType.Grouped;
  if (s.startsWith('split')) return NotificationType.Split;
  return NotificationType.Unknown;
}

/**
 * Turns an OCI Monitoring alarm message, as Notifications delivers it to a function, into an
 * `AlarmSignal`, or a typed error whose code says why not. Defensive by design: the documented
 * example is malformed, `metricValues` appears both at the top level and inside each
 * `alarmMetaData` element, values are strings, and `body` may be null or any text. The cluster id
 * and rule come from dacflow's JSON body; without one, the cluster id falls back to the
 * `resourceDimension` dimension and the rule to a rule name appearing in the alarm title. A body
 * naming a workflow (a model-deployment alarm) takes the resource from that dimension, and must
 * name exactly one.
 */
export function parseAlarmMessage(
  input: unknown,
  options: ParseAlarmOptions = {},
): AlarmParseResult {
  const maxChars = options.maxMessageChars ?? 256 * 1024;
  const dimension = options.resourceDimension ?? 'resourceId';
  let msg: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : new TextDecoder().decode(input);
    if (text.length > maxChars) {
      return fail(AlarmParseCode.TooLarge, `alarm message is over ${maxChars} characters`, {
        chars: text.length,
      });
    }
    try {
      msg = JSON.parse(text);
    } catch {
      return fail(AlarmParseCode.NotJson, 'alarm message is not JSON', { chars: text.length });
    }
  }
  if (!isRecord(msg)) return fail(AlarmParseCode.Invalid, 'alarm message is not a JSON object');

  const type = msg.type;
  if (typeof type !== 'string' || !messageTypes.has(type)) {
    return fail(AlarmParseCode.UnknownType, 'alarm message type is not one of the four OCI types', {
      type: typeof type === 'string' ? type.slice(0, 40) : typeof type,
    });
  }
  const dedupeKey = msg.dedupeKey;
  if (typeof dedupeKey !== 'string' || dedupeKey === '' || dedupeKey.length > 512) {
    return fail(AlarmParseCode.Invalid, 'alarm message has no usable dedupeKey');
  }
  let timestampMs: number | undefined;
  if (typeof msg.timestampEpochMillis === 'number' && Number.isFinite(msg.timestampEpochMillis)) {
    timestampMs = msg.timestampEpochMillis;
  } else if (
    typeof msg.timestampEpochMillis === 'string' &&
    /^\d+$/.test(msg.timestampEpochMillis)
  ) {
    timestampMs = Number(msg.timestampEpochMillis);
  } else if (typeof msg.timestamp === 'string') {
    const t = Date.parse(msg.timestamp);
    if (Number.isFinite(t)) timestampMs = t;
  }
  if (timestampMs === undefined) {
    return fail(AlarmParseCode.Invalid, 'alarm message has no valid timestamp');
  }
  const timestampText =
    typeof msg.timestamp === 'string' && msg.timestamp.length <= 64
      ? msg.timestamp
      : new Date(timestampMs).toISOString();

  const meta = Array.isArray(msg.alarmMetaData) ? msg.alarmMetaData.slice(0, MAX_ELEMENTS) : [];
  const metricValues: number[] = [];
  collectValues(msg.metricValues, metricValues);
  const alarmIds: string[] = [];
  const dimensionIds = new Set<string>();
  for (const m of meta) {
    if (!isRecord(m)) continue;
    if (typeof m.id === 'string') alarmIds.push(m.id);
    collectValues(m.metricValues, metricValues);
    dimensionValues(m.dimensions, dimension, dimensionIds);
  }
  dimensionValues(msg.dimensions, dimension, dimensionIds);
  const dimensionCluster = dimensionIds.values().next().value;

  let clusterId: string | undefined;
  let workflow: string | undefined;
  let rule: ScalingRule | undefined;
  if (typeof msg.body === 'string' && msg.body.trim() !== '') {
    let body: unknown;
    try {
      body = JSON.parse(msg.body);
    } catch {
      body = undefined; // a human-written body: fall back below
    }
    if (isRecord(body) && 'dacflow' in body) {
      const parsed = bodySchema.safeParse(body);
      if (!parsed.success) {
        return fail(
          AlarmParseCode.BodyInvalid,
          'alarm body has a dacflow section that is invalid',
          {
            issues: parsed.error.issues.map((i) => i.path.join('.')),
          },
        );
      }
      const d = parsed.data.dacflow;
      rule = d.rule;
      if ('clusterId' in d) clusterId = d.clusterId;
      else workflow = d.workflow;
    }
  }
  if (workflow !== undefined && dimensionIds.size > 1) {
    // One alarm covers every deployment of the compartment: a grouped message naming several
    // cannot say which one to resize (the alarm must split notifications per metric stream).
    return fail(
      AlarmParseCode.AmbiguousTarget,
      `alarm message names ${dimensionIds.size} resources; a workflow alarm must split notifications per metric stream`,
      { dedupeKey, resources: dimensionIds.size },
    );
  }
  clusterId ??= dimensionCluster;
  if (rule === undefined && typeof msg.title === 'string') {
    // Longest name first: `utilization-sustained-low` must not match as `utilization-low`.
    const title = msg.title.slice(0, 1024);
    rule = [...scalingRules].sort((a, b) => b.length - a.length).find((r) => title.includes(r));
  }
  if (clusterId === undefined) {
    return fail(
      AlarmParseCode.NoCluster,
      `alarm names no resource (no clusterId in a dacflow body, no ${dimension} dimension)`,
      {
        dedupeKey,
      },
    );
  }
  if (rule === undefined || !ruleSet.has(rule)) {
    return fail(AlarmParseCode.NoRule, 'alarm names no dacflow scaling rule', { dedupeKey });
  }
  return {
    ok: true,
    signal: {
      dedupeId: `${dedupeKey}@${timestampText}`,
      type: type as AlarmMessageType,
      rule,
      clusterId,
      ...(workflow !== undefined ? { workflow } : {}),
      timestampMs,
      severity: typeof msg.severity === 'string' ? msg.severity : 'UNKNOWN',
      notificationType: parseNotificationType(msg.notificationType),
      alarmIds,
      metricValues,
    },
  };
}
