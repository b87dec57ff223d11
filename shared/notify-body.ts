/**
 * The message bodies dacflow publishes to ONS, built field by field from ids, counts, codes,
 * states and durations, so no dataset text (prompts, completions, lifecycle messages) can reach a
 * mailbox by accident. Pure: plain data in, strings out.
 *
 * ONS accepts at most 64 KB per message (notificationoverview.htm, facts sheet "E/ONS extra"); a
 * body is measured in UTF-8 bytes and shrunk (lists halved, the newest entries kept) until it fits.
 */
import type { NotifyEvent, Run, RunState } from '#workflows/machine.ts';

/** What happened to a run. */
export interface RunNotification {
  kind: 'run';
  event: NotifyEvent;
  runId: string;
  workflow: string;
  state: RunState;
  /** The state before, when known. */
  from?: RunState;
  /** ISO-8601 time of the transition. */
  at: string;
  /** Run age at the transition. */
  durationMs?: number;
  /** Stable error code only (never OCI's message text). */
  errorCode?: string;
  /** Validation counts and the like. */
  counts?: Record<string, number>;
  /** OCI ids (model, endpoint, job run, work request). */
  ids?: Record<string, string>;
  dataset?: { bucket: string; object: string; etag: string };
  supersededBy?: string;
  /** The last transitions, oldest first: `FROM>TO`. */
  transitions?: string[];
  /** For receivers to drop ONS's at-least-once duplicates. */
  dedupeKey: string;
}

/** What scale-dac resizes: a hosting cluster's units or a model deployment's instances. */
export type ScaledResourceKind = 'DEDICATED_AI_CLUSTER' | 'MODEL_DEPLOYMENT';

/** What the autoscaler did to a hosting cluster or a model deployment. */
export interface ScalingNotification {
  kind: 'scaling';
  action: 'SCALE_UP' | 'SCALE_DOWN' | 'SCALE_FAILED';
  /** The resized resource's OCID (a model deployment's when `resourceKind` says so). */
  clusterId: string;
  /** Absent: a dedicated AI cluster. */
  resourceKind?: ScaledResourceKind;
  workflow?: string;
  fromUnits: number;
  toUnits: number;
  /** The scaling rule or reason code that triggered it. */
  reasonCode: string;
  /** Monthly cost change of the new unit count (positive for a scale-up), in USD. */
  monthlyCostChangeUsd?: number;
  alarmIds?: string[];
  at: string;
  workRequestId?: string;
  errorCode?: string;
  dedupeKey: string;
}

export type Notification = RunNotification | ScalingNotification;

export interface BuiltMessage {
  title: string;
  body: string;
  /** UTF-8 bytes of title plus body. */
  bytes: number;
  /** True when lists were shortened or fields dropped to fit. */
  truncated: boolean;
}

/** ONS's limit is "64 KB"; 64,000 bytes stays under it whichever kilobyte OCI means. */
export const defaultMaxMessageBytes = 64_000;
/** Email subjects get long fast; ONS documents no title limit (NOT FOUND), so keep it short. */
export const defaultMaxTitleBytes = 200;

// One word: dacflow's UPPER_CASE codes and OCI's CamelCase service codes (NotAuthorizedOrNotFound),
// never free text.
const codePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A code as given when it looks like one, else a placeholder: free text never passes. */
export function safeCode(code: string | undefined): string | undefined {
  if (code === undefined) return undefined;
  return codePattern.test(code) ? code : 'UNRECOGNISED_CODE';
}

/** Removes control characters and cuts to `maxBytes` UTF-8 bytes on a character boundary. */
export function clipBytes(text: string, maxBytes: number): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  if (Buffer.byteLength(clean) <= maxBytes) return clean;
  let out = '';
  let used = 0;
  for (const ch of clean) {
    const n = Buffer.byteLength(ch);
    if (used + n > maxBytes - 3) break;
    out += ch;
    used += n;
  }
  return out + '...';
}

const maxIdBytes = 256;
const maxObjectNameBytes = 1024;

/** A run notification from a run record: counts and ids only. */
export function runNotification(
  run: Run,
  event: NotifyEvent,
  options: { nowMs: number; from?: RunState; maxTransitions?: number },
): RunNotification {
  const n: RunNotification = {
    kind: 'run',
    event,
    runId: run.runId,
    workflow: run.workflow,
    state: run.state,
    at: new Date(options.nowMs).toISOString(),
    dedupeKey: `${run.runId}:${event}:${run.version}`,
  };
  if (options.from !== undefined) n.from = options.from;
  const created = Date.parse(run.createdAt);
  if (Number.isFinite(created)) n.durationMs = Math.max(0, options.nowMs - created);
  if (run.lastError) n.errorCode = run.lastError.code;
  if (run.validation) {
    n.counts = {
      lines: run.validation.lines,
      validExamples: run.validation.validExamples,
      invalidLines: run.validation.invalidLines,
    };
  }
  const ids: Record<string, string> = {};
  for (const [k, v] of Object.entries(run.oci)) if (typeof v === 'string') ids[k] = v;
  if (Object.keys(ids).length > 0) n.ids = ids;
  n.dataset = { bucket: run.dataset.bucket, object: run.dataset.object, etag: run.dataset.etag };
  if (run.supersededBy) n.supersededBy = run.supersededBy;
  const keep = options.maxTransitions ?? 20;
  if (run.history.length > 0 && keep > 0) {
    n.transitions = run.history.slice(-keep).map((h) => `${h.from}>${h.to}`);
  }
  return n;
}

/** The title line: what a person scanning a mailbox needs. */
export function titleFor(n: Notification): string {
  return n.kind === 'run'
    ? `dacflow ${n.workflow}: run ${n.runId} ${n.event}`
    : `dacflow${n.workflow ? ` ${n.workflow}` : ''}: ${n.resourceKind === 'MODEL_DEPLOYMENT' ? 'model deployment' : 'cluster'} ${n.action} ${n.fromUnits}->${n.toUnits}` +
        (n.monthlyCostChangeUsd !== undefined && Number.isFinite(n.monthlyCostChangeUsd)
          ? ` ${n.resourceKind === 'MODEL_DEPLOYMENT' ? 'instances' : 'units'} (${n.monthlyCostChangeUsd >= 0 ? '+' : '-'}$${Math.abs(Math.round(n.monthlyCostChangeUsd)).toLocaleString('en-US')}/month)`
          : '');
}

/** The whitelisted, clipped JSON object for a notification (before size fitting). */
export function bodyObject(n: Notification): Record<string, unknown> {
  const id = (s: string) => clipBytes(s, maxIdBytes);
  const num = (x: number) => (Number.isFinite(x) ? x : null);
  if (n.kind === 'run') {
    const o: Record<string, unknown> = {
      kind: 'run',
      event: n.event,
      runId: id(n.runId),
      workflow: id(n.workflow),
      state: n.state,
      at: n.at,
      dedupeKey: id(n.dedupeKey),
    };
    if (n.from !== undefined) o.from = n.from;
    if (n.durationMs !== undefined) o.durationMs = num(n.durationMs);
    if (n.errorCode !== undefined) o.errorCode = safeCode(n.errorCode);
    if (n.counts) {
      o.counts = Object.fromEntries(
        Object.entries(n.counts).map(([k, v]) => [id(k), num(v)] as const),
      );
    }
    if (n.ids) o.ids = Object.fromEntries(Object.entries(n.ids).map(([k, v]) => [id(k), id(v)]));
    if (n.dataset) {
      o.dataset = {
        bucket: id(n.dataset.bucket),
        object: clipBytes(n.dataset.object, maxObjectNameBytes),
        etag: id(n.dataset.etag),
      };
    }
    if (n.supersededBy !== undefined) o.supersededBy = id(n.supersededBy);
    if (n.transitions) o.transitions = n.transitions.map((t) => clipBytes(t, 64));
    return o;
  }
  const deployment = n.resourceKind === 'MODEL_DEPLOYMENT';
  const o: Record<string, unknown> = {
    kind: 'scaling',
    action: n.action,
    [deployment ? 'modelDeploymentId' : 'clusterId']: id(n.clusterId),
    fromUnits: num(n.fromUnits),
    toUnits: num(n.toUnits),
    reasonCode: clipBytes(n.reasonCode, 64),
    at: n.at,
    dedupeKey: id(n.dedupeKey),
  };
  if (n.workflow !== undefined) o.workflow = id(n.workflow);
  if (n.monthlyCostChangeUsd !== undefined) o.monthlyCostChangeUsd = num(n.monthlyCostChangeUsd);
  if (n.alarmIds) o.alarmIds = n.alarmIds.map(id);
  if (n.workRequestId !== undefined) o.workRequestId = id(n.workRequestId);
  if (n.errorCode !== undefined) o.errorCode = safeCode(n.errorCode);
  return o;
}

/** Fields that can grow without bound, in the order they are shrunk. */
const shrinkable = ['transitions', 'alarmIds', 'counts', 'ids'] as const;
/** Fields a minimal body keeps when even empty lists do not fit. */
const essential = [
  'kind',
  'event',
  'action',
  'runId',
  'clusterId',
  'modelDeploymentId',
  'workflow',
  'state',
  'at',
];

/**
 * Title plus compact JSON body of at most `maxBytes` UTF-8 bytes. Lists are halved (keeping the
 * newest entries) and maps cut until the message fits; `omitted` counts what was dropped.
 */
export function buildMessage(
  n: Notification,
  limits: { maxMessageBytes?: number; maxTitleBytes?: number } = {},
): BuiltMessage {
  const maxBytes = limits.maxMessageBytes ?? defaultMaxMessageBytes;
  const title = clipBytes(titleFor(n), limits.maxTitleBytes ?? defaultMaxTitleBytes);
  const titleBytes = Buffer.byteLength(title);
  const fits = (o: Record<string, unknown>) =>
    titleBytes + Buffer.byteLength(JSON.stringify(o)) <= maxBytes;

  const body = bodyObject(n);
  if (fits(body)) return done(title, body, false);

  const omitted: Record<string, number> = {};
  body.omitted = omitted;
  for (const field of shrinkable) {
    while (!fits(body) && body[field] !== undefined) {
      const value = body[field];
      const entries = Array.isArray(value) ? value : Object.entries(value as object);
      if (entries.length <= 1) {
        omitted[field] = (omitted[field] ?? 0) + entries.length;
        delete body[field];
        break;
      }
      const keep = Math.floor(entries.length / 2);
      const kept = entries.slice(entries.length - keep);
      omitted[field] = (omitted[field] ?? 0) + (entries.length - keep);
      body[field] = Array.isArray(value) ? kept : Object.fromEntries(kept as [string, unknown][]);
    }
    if (fits(body)) return done(title, body, true);
  }
  const minimal: Record<string, unknown> = { truncated: true };
  for (const k of essential) if (body[k] !== undefined) minimal[k] = body[k];
  if (fits(minimal)) return done(title, minimal, true);
  return done(title.slice(0, 0), { truncated: true, kind: body.kind }, true);
}

function done(title: string, body: Record<string, unknown>, truncated: boolean): BuiltMessage {
  const text = JSON.stringify(body);
  return {
    title,
    body: text,
    bytes: Buffer.byteLength(title) + Buffer.byteLength(text),
    truncated,
  };
}
