/**
 * OCI Monitoring in the local emulator (`/20180401`, as MonitoringClient calls it): custom metric
 * ingestion with OCI's limits, `summarizeMetricsData` for dacflow's MQL subset
 * (monitoring-mql.ts, `groupBy`/`grouping()` included), alarm CRUD, and an evaluator that runs once
 * per emulated minute and publishes OCI-format alarm messages to the alarm's destination topics.
 * Grouped alarms keep one state; split alarms (`isNotificationsPerMetricDimensionEnabled`) keep one
 * per metric stream, so each stream fires, repeats, clears and resets on its own.
 *
 * Time: datapoints and messages carry real (or injected) timestamps, but one Monitoring minute
 * (MQL `[1m]`, `pendingDuration`, repeat and reset periods, the 2 h / 10 min timestamp window)
 * lasts `minuteMs`, which the emulator's `fast` mode shrinks like every other delay. Minutes are
 * aligned to multiples of `minuteMs` since the epoch.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type {
  Collection,
  EmulatorContext,
  EmulatorRequest,
  EmulatorResponse,
  EmulatorService,
  Route,
} from './service.ts';
import { OciApiError } from './service.ts';
import {
  groupStreams,
  isoDurationMinutes,
  matchesFilters,
  meets,
  MqlError,
  parseMql,
  windowAggregate,
  type MqlQuery,
  type Sample,
  type StreamGroup,
} from './monitoring-mql.ts';

const API = '/20180401';

export interface MonitoringOptions {
  /** Real milliseconds per Monitoring minute; `ctx.scaleDelayMs(60_000)` by default. */
  minuteMs?: number;
  /** Run the evaluator on a timer (default); false leaves it to `control.tick()`. */
  autoTick?: boolean;
  /**
   * Minutes without data after which a FIRING alarm sends RESET. OCI: a 10-minute internal reset
   * period plus the 3-minute default evaluation slack (monitoringoverview.htm).
   */
  resetAfterMin?: number;
  /**
   * Minutes of datapoints kept per stream (OCI keeps 90 days; the emulator needs hours). Streams
   * are written to the data dir every 10 minutes and on close.
   */
  retentionMin?: number;
  /** The clock; the emulator's by default. */
  now?: () => Date;
}

/** One metric stream as stored: the same shape postMetricData and the demand generator write. */
export interface MetricInput {
  namespace: string;
  compartmentId: string;
  name: string;
  dimensions: Record<string, string>;
  metadata?: Record<string, string>;
  resourceGroup?: string;
  datapoints: { timestampMs: number; value: number; count?: number }[];
}

/** Called at each emulated minute, before alarms are evaluated (the demand generator). */
export type MinuteProducer = (minute: { startMs: number; endMs: number; index: number }) => unknown;

/** An alarm message as published, for tests and the demo. */
export interface PublishedAlarmMessage {
  alarmId: string;
  topicId: string;
  type: string;
  timestampMs: number;
  body: string;
}

export interface MonitoringControl {
  /** Real milliseconds per emulated minute. */
  readonly minuteMs: number;
  /**
   * Runs the minute that ended at the last minute boundary: producers, then every alarm. Timers
   * call it on their own; a minute already evaluated is skipped.
   */
  tick(): Promise<void>;
  /** Registers a producer; returns its removal. */
  onMinute(producer: MinuteProducer): () => void;
  /** Stores datapoints as the service itself would (no custom-namespace checks). */
  ingest(metrics: readonly MetricInput[]): void;
  /** Every alarm message published so far, in order. */
  published(): PublishedAlarmMessage[];
  /** Stops the evaluator timer (close does too). */
  stop(): void;
}

export interface MonitoringService extends EmulatorService {
  /** Available once the emulator has started the service. */
  readonly control: MonitoringControl;
}

// ---- limits (publishingcustommetrics.htm, MonitoringClient.postMetricData doc) ----------------
const maxStreamsPerCall = 50;
const maxDimensions = 20;
const maxDimKeyChars = 256;
const maxDimValueChars = 512;
const maxMetadataChars = 256;
const maxAgeMin = 120;
const maxAheadMin = 10;

const severities = ['CRITICAL', 'ERROR', 'WARNING', 'INFO'] as const;
const messageFormats = ['RAW', 'PRETTY_JSON', 'ONS_OPTIMIZED'] as const;

const isoMinutes = (min: number, max: number, what: string) =>
  z.string().refine((s) => {
    const m = isoDurationMinutes(s);
    return m !== undefined && m >= min && m <= max;
  }, `${what} must be an ISO-8601 duration of whole minutes between ${min} and ${max} minutes`);

const tags = z.record(z.string(), z.string()).optional();
const definedTags = z.record(z.string(), z.record(z.string(), z.unknown())).optional();

const alarmFields = {
  displayName: z.string().min(1).max(255),
  compartmentId: z.string().min(1),
  metricCompartmentId: z.string().min(1),
  metricCompartmentIdInSubtree: z.boolean().optional(),
  namespace: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/),
  resourceGroup: z.string().optional(),
  query: z.string().min(1).max(4000),
  resolution: z.literal('1m').optional(),
  // CreateAlarmDetails: pendingDuration PT1M-PT1H, default PT1M.
  pendingDuration: isoMinutes(1, 60, 'pendingDuration').optional(),
  severity: z.enum(severities),
  body: z.string().max(1000).nullish(),
  isNotificationsPerMetricDimensionEnabled: z.boolean().optional(),
  messageFormat: z.enum(messageFormats).optional(),
  destinations: z.array(z.string().min(1)).min(1),
  // repeatNotificationDuration PT1M-P30D, default none.
  repeatNotificationDuration: isoMinutes(1, 30 * 1440, 'repeatNotificationDuration').nullish(),
  isEnabled: z.boolean(),
  freeformTags: tags,
  definedTags: definedTags,
  ruleName: z.string().max(255).optional(),
  notificationVersion: z.string().optional(),
  notificationTitle: z.string().max(255).optional(),
  evaluationSlackDuration: isoMinutes(3, 120, 'evaluationSlackDuration').optional(),
  alarmSummary: z.string().max(1000).optional(),
};
const createAlarmSchema = z.object(alarmFields);
const updateAlarmSchema = z.object(alarmFields).partial();

interface AlarmRecord {
  id: string;
  displayName: string;
  compartmentId: string;
  metricCompartmentId: string;
  namespace: string;
  query: string;
  resolution: string;
  pendingDuration: string;
  severity: (typeof severities)[number];
  body?: string | null;
  isNotificationsPerMetricDimensionEnabled: boolean;
  messageFormat: (typeof messageFormats)[number];
  destinations: string[];
  repeatNotificationDuration?: string | null;
  isEnabled: boolean;
  freeformTags: Record<string, string>;
  definedTags: Record<string, Record<string, unknown>>;
  ruleName?: string;
  notificationVersion: string;
  notificationTitle?: string;
  evaluationSlackDuration?: string;
  alarmSummary?: string;
  lifecycleState: 'ACTIVE';
  timeCreated: string;
  timeUpdated: string;
  [k: string]: unknown;
}

type AlarmMessageType = 'OK_TO_FIRING' | 'FIRING_TO_OK' | 'REPEAT' | 'RESET';

/** One alarm state machine: the whole alarm when grouped, one metric stream when split. */
interface EvalState {
  status: 'OK' | 'FIRING';
  /** Consecutive evaluated minutes with a breach. */
  breachMinutes: number;
  /** When the current firing episode started: the dedupeKey's seed. */
  episodeStartMs: number;
  lastNotifiedMs: number;
  lastDataMs: number;
}

/** A split alarm's memory of one metric stream, keyed by `dimensionKey` of its dimensions. */
interface StreamAlarmState extends EvalState {
  dimensions: Record<string, string>;
}

/**
 * The evaluator's memory of one alarm. A split alarm (`isNotificationsPerMetricDimensionEnabled`)
 * keeps one state machine per metric stream in `streams`; its top-level fields then only summarize
 * them (FIRING while any stream fires). A grouped alarm uses the top-level fields alone.
 */
interface AlarmState extends EvalState {
  id: string;
  streams?: Record<string, StreamAlarmState>;
}

/** What one evaluated minute observed of one metric stream (after grouping). */
interface Observation {
  dims: Record<string, string>;
  value: number;
  breached: boolean;
}

/** The streams one message names; a RESET names a stream without a value. */
type MessageStream = { dims: Record<string, string>; value?: number };

const freshState = (): EvalState => ({
  status: 'OK',
  breachMinutes: 0,
  episodeStartMs: 0,
  lastNotifiedMs: 0,
  lastDataMs: 0,
});

/** A stream's identity within an alarm: its dimensions, in key order. */
function dimensionKey(dims: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(dims).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Advances one state machine by one evaluated minute and returns the message it owes, if any.
 * Grouped alarms run it once per minute for the whole alarm, split alarms once per stream.
 */
function advance(
  state: EvalState,
  minute: { endMs: number; hasData: boolean; breached: boolean },
  rules: {
    pendingMin: number;
    repeatMin: number | undefined;
    resetAfterMs: number;
    minuteMs: number;
  },
): AlarmMessageType | undefined {
  const { endMs } = minute;
  let type: AlarmMessageType | undefined;
  if (minute.hasData) {
    state.lastDataMs = endMs;
    state.breachMinutes = minute.breached ? state.breachMinutes + 1 : 0;
    if (state.status === 'OK' && state.breachMinutes >= rules.pendingMin) {
      state.status = 'FIRING';
      state.episodeStartMs = endMs;
      type = 'OK_TO_FIRING';
    } else if (state.status === 'FIRING' && !minute.breached) {
      state.status = 'OK';
      type = 'FIRING_TO_OK';
    } else if (
      state.status === 'FIRING' &&
      rules.repeatMin !== undefined &&
      endMs - state.lastNotifiedMs >= rules.repeatMin * rules.minuteMs
    ) {
      type = 'REPEAT';
    }
  } else {
    // A minute without data neither advances nor breaks the pending streak (a publisher that
    // posts less often than once a minute would otherwise never fire); a firing alarm resets
    // after the reset period.
    const absentLong = endMs - state.lastDataMs >= rules.resetAfterMs;
    if (absentLong) state.breachMinutes = 0;
    if (state.status === 'FIRING' && absentLong) {
      state.status = 'OK';
      type = 'RESET';
    }
  }
  if (type !== undefined) state.lastNotifiedMs = endMs;
  return type;
}

interface StreamRecord {
  id: string;
  namespace: string;
  compartmentId: string;
  name: string;
  dimensions: Record<string, string>;
  metadata?: Record<string, string>;
  resourceGroup?: string;
  points: Sample[];
}

function streamId(namespace: string, compartmentId: string, name: string, dims: object): string {
  const sorted = Object.entries(dims).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([namespace, compartmentId, name, sorted]))
    .digest('hex')
    .slice(0, 32);
}

function invalid(message: string): OciApiError {
  return new OciApiError(400, 'InvalidParameter', message);
}

function parseQuery(text: string): MqlQuery {
  try {
    return parseMql(text);
  } catch (err) {
    if (err instanceof MqlError) throw invalid(`Invalid query: ${err.message}`);
    throw err;
  }
}

function zodMessage(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
    .join('; ');
}

/** The Monitoring API as an emulator service. */
export function monitoringService(options: MonitoringOptions = {}): MonitoringService {
  let impl: MonitoringImpl | undefined;
  const started = (): MonitoringImpl => {
    if (!impl) throw new Error('the Monitoring emulator service has not started yet');
    return impl;
  };
  return {
    name: 'monitoring',
    routes(ctx) {
      impl = new MonitoringImpl(ctx, options);
      return impl.routes();
    },
    close() {
      impl?.stop();
    },
    control: {
      get minuteMs() {
        return started().minuteMs;
      },
      tick: () => started().tick(),
      onMinute: (p) => started().onMinute(p),
      ingest: (m) => started().ingest(m),
      published: () => [...started().publishedMessages],
      stop: () => started().stop(),
    },
  };
}

class MonitoringImpl {
  readonly minuteMs: number;
  private readonly alarms: Collection<AlarmRecord>;
  private readonly states: Collection<AlarmState>;
  private readonly streamStore: Collection<StreamRecord>;
  private readonly streams = new Map<string, StreamRecord>();
  private readonly dirty = new Set<string>();
  private readonly producers = new Set<MinuteProducer>();
  readonly publishedMessages: PublishedAlarmMessage[] = [];
  private readonly resetAfterMin: number;
  private readonly retentionMin: number;
  private readonly clock: () => Date;
  private stopped = false;
  private lastEndMs = -Infinity;
  private ticks = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: EmulatorContext,
    options: MonitoringOptions,
  ) {
    this.minuteMs = Math.max(1, Math.round(options.minuteMs ?? ctx.scaleDelayMs(60_000)));
    this.resetAfterMin = options.resetAfterMin ?? 13;
    this.retentionMin = options.retentionMin ?? 180;
    this.clock = options.now ?? (() => ctx.now());
    this.alarms = ctx.collection<AlarmRecord>('monitoring-alarms');
    this.states = ctx.collection<AlarmState>('monitoring-alarm-states');
    this.streamStore = ctx.collection<StreamRecord>('monitoring-metric-streams');
    for (const s of this.streamStore.list()) this.streams.set(s.id, s);
    if (options.autoTick !== false) this.schedule();
  }

  private nowMs(): number {
    return this.clock().getTime();
  }

  // ---- the minute loop -------------------------------------------------------------------------

  private schedule(): void {
    if (this.stopped) return;
    const now = Date.now();
    const next = (Math.floor(now / this.minuteMs) + 1) * this.minuteMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // The boundary is passed in: a timer that fires a millisecond early must not re-run the
      // previous minute.
      void this.tick(next).finally(() => this.schedule());
    }, next - now);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
  }

  onMinute(p: MinuteProducer): () => void {
    this.producers.add(p);
    return () => this.producers.delete(p);
  }

  tick(boundaryMs?: number): Promise<void> {
    // Serialized: a slow tick never overlaps the next one.
    this.ticking = this.ticking.then(() => this.runTick(boundaryMs));
    return this.ticking;
  }

  private async runTick(boundaryMs: number | undefined): Promise<void> {
    const nowMs = this.nowMs();
    const endMs = boundaryMs ?? Math.floor(nowMs / this.minuteMs) * this.minuteMs;
    // Each minute is evaluated once: pending and repeat counts are per minute.
    if (endMs <= this.lastEndMs) return;
    this.lastEndMs = endMs;
    const minute = { startMs: endMs - this.minuteMs, endMs, index: endMs / this.minuteMs };
    for (const p of this.producers) {
      try {
        // Producers that return a promise are not awaited: a slow one must not stall alarms.
        const r = p(minute);
        if (r instanceof Promise)
          r.catch((err: unknown) => this.ctx.log.warn('monitoring.producer', { error: err }));
      } catch (err) {
        this.ctx.log.warn('monitoring.producer', { error: err });
      }
    }
    this.trim(nowMs);
    for (const alarm of this.alarms.list()) {
      try {
        await this.evaluate(alarm, endMs, nowMs);
      } catch (err) {
        this.ctx.log.warn('monitoring.evaluate', { alarmId: alarm.id, error: err });
      }
    }
    // Each put rewrites the whole collection file: persist streams every few minutes and on close.
    if (++this.ticks % 10 === 0) this.flush();
  }

  private trim(nowMs: number): void {
    const cutoff = nowMs - this.retentionMin * this.minuteMs;
    for (const s of this.streams.values()) {
      const kept = s.points.filter((p) => p.t >= cutoff);
      if (kept.length !== s.points.length) {
        s.points = kept;
        this.dirty.add(s.id);
      }
    }
  }

  private flush(): void {
    for (const id of this.dirty) {
      const s = this.streams.get(id);
      if (s) this.streamStore.put(s);
    }
    this.dirty.clear();
  }

  // ---- metric store ----------------------------------------------------------------------------

  ingest(metrics: readonly MetricInput[]): void {
    for (const m of metrics) {
      const id = streamId(m.namespace, m.compartmentId, m.name, m.dimensions);
      let s = this.streams.get(id);
      if (!s) {
        s = {
          id,
          namespace: m.namespace,
          compartmentId: m.compartmentId,
          name: m.name,
          dimensions: { ...m.dimensions },
          ...(m.metadata ? { metadata: { ...m.metadata } } : {}),
          ...(m.resourceGroup ? { resourceGroup: m.resourceGroup } : {}),
          points: [],
        };
        this.streams.set(id, s);
      } else if (m.metadata) {
        s.metadata = { ...m.metadata };
      }
      for (const d of m.datapoints)
        s.points.push({ t: d.timestampMs, v: d.value, c: d.count ?? 1 });
      s.points.sort((a, b) => a.t - b.t);
      this.dirty.add(id);
    }
  }

  private streamsFor(namespace: string, compartmentId: string, q: MqlQuery): StreamRecord[] {
    return [...this.streams.values()].filter(
      (s) =>
        s.namespace === namespace &&
        s.compartmentId === compartmentId &&
        s.name === q.metric &&
        matchesFilters(q.filters, s.dimensions),
    );
  }

  /** The query's results: its matching streams after its grouping function (one way for all). */
  private groupsFor(
    namespace: string,
    compartmentId: string,
    q: MqlQuery,
  ): StreamGroup<StreamRecord>[] {
    return groupStreams(q.grouping, this.streamsFor(namespace, compartmentId, q));
  }

  /** The query's statistic over one result's samples in the interval that ends at `endMs`. */
  private windowValue(g: StreamGroup<StreamRecord>, q: MqlQuery, endMs: number) {
    return windowAggregate(q, g.streams, endMs - q.intervalMin * this.minuteMs, endMs);
  }

  // ---- routes ----------------------------------------------------------------------------------

  routes(): Route[] {
    return [
      {
        method: 'POST',
        path: `${API}/metrics`,
        operation: 'PostMetricData',
        handler: (r) => this.postMetricData(r),
      },
      {
        method: 'POST',
        path: `${API}/metrics/actions/summarizeMetricsData`,
        operation: 'SummarizeMetricsData',
        handler: (r) => this.summarize(r),
      },
      {
        method: 'POST',
        path: `${API}/alarms`,
        operation: 'CreateAlarm',
        handler: (r) => this.createAlarm(r),
      },
      {
        method: 'GET',
        path: `${API}/alarms`,
        operation: 'ListAlarms',
        handler: async (r) => this.listAlarms(r),
      },
      {
        method: 'GET',
        path: `${API}/alarms/{alarmId}`,
        operation: 'GetAlarm',
        handler: async (r) => this.getAlarm(r),
      },
      {
        method: 'PUT',
        path: `${API}/alarms/{alarmId}`,
        operation: 'UpdateAlarm',
        handler: (r) => this.updateAlarm(r),
      },
      {
        method: 'DELETE',
        path: `${API}/alarms/{alarmId}`,
        operation: 'DeleteAlarm',
        handler: async (r) => this.deleteAlarm(r),
      },
    ];
  }

  private async postMetricData(req: EmulatorRequest): Promise<EmulatorResponse> {
    const body = await req.json<{ metricData?: unknown; batchAtomicity?: unknown }>();
    if (!body || !Array.isArray(body.metricData) || body.metricData.length === 0) {
      throw invalid('metricData must be a non-empty array');
    }
    const atomicity = body.batchAtomicity ?? 'NON_ATOMIC';
    if (atomicity !== 'ATOMIC' && atomicity !== 'NON_ATOMIC') {
      throw invalid('batchAtomicity must be ATOMIC or NON_ATOMIC');
    }
    const nowMs = this.nowMs();
    const ok: MetricInput[] = [];
    const failed: { message: string; metricData: unknown }[] = [];
    const ids = new Set<string>();
    for (const raw of body.metricData) {
      const r = this.checkMetric(raw, nowMs);
      if (typeof r === 'string') failed.push({ message: r, metricData: raw });
      else {
        ok.push(r);
        ids.add(streamId(r.namespace, r.compartmentId, r.name, r.dimensions));
      }
    }
    if (ids.size > maxStreamsPerCall) {
      throw invalid(
        `at most ${maxStreamsPerCall} unique metric streams per call (got ${ids.size})`,
      );
    }
    if (atomicity === 'ATOMIC' && failed.length > 0) {
      // ATOMIC: one bad metric fails the whole request (PostMetricDataDetails.batchAtomicity).
      throw invalid(`ATOMIC batch rejected: ${failed[0]!.message}`);
    }
    this.ingest(ok);
    return {
      status: 200,
      body: {
        failedMetricsCount: failed.length,
        ...(failed.length > 0 ? { failedMetrics: failed } : {}),
      },
    };
  }

  /** A valid metric, or the reason it fails (OCI's custom metric rules). */
  private checkMetric(raw: unknown, nowMs: number): MetricInput | string {
    if (typeof raw !== 'object' || raw === null) return 'metric is not an object';
    const m = raw as Record<string, unknown>;
    const ns = m.namespace;
    if (typeof ns !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(ns) || ns.length > 255) {
      return 'namespace must start with a letter and hold only letters, digits and underscores';
    }
    if (/^(oci_|oracle_)/i.test(ns)) {
      return `namespace ${ns} uses a reserved prefix (oci_ or oracle_)`;
    }
    if (typeof m.compartmentId !== 'string' || m.compartmentId === '') {
      return 'compartmentId is required';
    }
    if (typeof m.name !== 'string' || !/^[A-Za-z][A-Za-z0-9._\-$]*$/.test(m.name)) {
      return 'name must start with a letter and hold letters, digits, ".", "_", "-" or "$"';
    }
    const dims = m.dimensions;
    if (typeof dims !== 'object' || dims === null || Array.isArray(dims)) {
      return 'dimensions are required';
    }
    const entries = Object.entries(dims);
    if (entries.length < 1 || entries.length > maxDimensions) {
      return `a metric needs 1 to ${maxDimensions} dimensions (got ${entries.length})`;
    }
    for (const [k, v] of entries) {
      if (k.length === 0 || k.length > maxDimKeyChars) return `dimension key ${k} is too long`;
      if (typeof v !== 'string' || v.length === 0 || v.length > maxDimValueChars) {
        return `dimension ${k} needs a string value of 1 to ${maxDimValueChars} characters`;
      }
    }
    const metadata = m.metadata;
    if (metadata !== undefined && metadata !== null) {
      if (typeof metadata !== 'object') return 'metadata must be an object';
      for (const [k, v] of Object.entries(metadata)) {
        if (k.length > maxMetadataChars || typeof v !== 'string' || v.length > maxMetadataChars) {
          return `metadata ${k.slice(0, 40)} is too long or not a string`;
        }
      }
    }
    if (!Array.isArray(m.datapoints) || m.datapoints.length === 0) {
      return 'datapoints must be a non-empty array';
    }
    const oldest = nowMs - maxAgeMin * this.minuteMs;
    const newest = nowMs + maxAheadMin * this.minuteMs;
    const datapoints: MetricInput['datapoints'] = [];
    for (const d of m.datapoints as unknown[]) {
      const dp = (d ?? {}) as Record<string, unknown>;
      const t = typeof dp.timestamp === 'string' ? Date.parse(dp.timestamp) : Number.NaN;
      if (!Number.isFinite(t)) return 'datapoint timestamp is missing or invalid';
      if (t < oldest) return 'datapoint timestamp is more than 2 hours in the past';
      if (t > newest) return 'datapoint timestamp is more than 10 minutes in the future';
      if (typeof dp.value !== 'number' || !Number.isFinite(dp.value)) {
        return 'datapoint value must be a finite number';
      }
      if (dp.count !== undefined && !(typeof dp.count === 'number' && dp.count > 0)) {
        return 'datapoint count must be greater than zero';
      }
      datapoints.push({
        timestampMs: t,
        value: dp.value,
        ...(typeof dp.count === 'number' ? { count: dp.count } : {}),
      });
    }
    return {
      namespace: ns,
      compartmentId: m.compartmentId,
      name: m.name,
      dimensions: Object.fromEntries(entries) as Record<string, string>,
      ...(metadata ? { metadata: metadata as Record<string, string> } : {}),
      ...(typeof m.resourceGroup === 'string' ? { resourceGroup: m.resourceGroup } : {}),
      datapoints,
    };
  }

  private async summarize(req: EmulatorRequest): Promise<EmulatorResponse> {
    const compartmentId = req.query.get('compartmentId');
    if (!compartmentId) throw new OciApiError(400, 'MissingParameter', 'compartmentId is required');
    const body = await req.json<Record<string, unknown>>();
    if (typeof body?.namespace !== 'string' || body.namespace === '') {
      throw invalid('namespace is required');
    }
    if (typeof body.query !== 'string' || body.query === '') throw invalid('query is required');
    const q = parseQuery(body.query);
    const nowMs = this.nowMs();
    const endMs =
      typeof body.endTime === 'string' ? Date.parse(body.endTime) : nowMs + this.minuteMs;
    const startMs =
      typeof body.startTime === 'string' ? Date.parse(body.startTime) : endMs - 60 * this.minuteMs;
    if (!Number.isFinite(startMs) || !Number.isFinite(endMs) || startMs >= endMs) {
      throw invalid('startTime must be before endTime');
    }
    const resolution = typeof body.resolution === 'string' ? body.resolution : '1m';
    const resMatch = /^(\d+)([mh])$/.exec(resolution);
    if (!resMatch) throw invalid('resolution must be like 1m, 5m or 1h');
    const stepMs = Number(resMatch[1]) * (resMatch[2] === 'h' ? 60 : 1) * this.minuteMs;
    if (stepMs <= 0) throw invalid('resolution must be positive');
    if ((endMs - startMs) / stepMs > 100_000) throw invalid('too many windows: widen resolution');
    const namespace = body.namespace;
    const items = this.groupsFor(namespace, compartmentId, q).flatMap((g) => {
      const points: { timestamp: string; value: number }[] = [];
      // One window per resolution step: [t, t + interval), timestamped at its start.
      for (let t = Math.ceil(startMs / stepMs) * stepMs; t < endMs; t += stepMs) {
        const v = this.windowValue(g, q, t + q.intervalMin * this.minuteMs);
        if (v !== undefined && meets(q, v))
          points.push({ timestamp: new Date(t).toISOString(), value: v });
      }
      if (points.length === 0) return [];
      // A grouped result is many streams: it carries the grouped dimensions only.
      const single = q.grouping ? undefined : g.streams[0];
      return [
        {
          namespace,
          compartmentId,
          name: q.metric,
          dimensions: g.dimensions,
          ...(single?.metadata ? { metadata: single.metadata } : {}),
          ...(single?.resourceGroup ? { resourceGroup: single.resourceGroup } : {}),
          resolution,
          aggregatedDatapoints: points,
        },
      ];
    });
    return { status: 200, body: items };
  }

  // ---- alarms ----------------------------------------------------------------------------------

  private view(a: AlarmRecord): { body: AlarmRecord; etag: string } {
    const etag = createHash('sha256').update(JSON.stringify(a)).digest('hex').slice(0, 32);
    return { body: a, etag };
  }

  private requireAlarm(id: string): AlarmRecord {
    const a = this.alarms.get(id);
    if (!a) throw new OciApiError(404, 'NotAuthorizedOrNotFound', `Alarm ${id} not found`);
    return a;
  }

  private checkIfMatch(req: EmulatorRequest, etag: string): void {
    const v = req.headers['if-match'];
    const value = Array.isArray(v) ? v[0] : v;
    if (value && value !== '*' && value !== etag) {
      throw new OciApiError(412, 'NoEtagMatch', 'The If-Match etag does not match the alarm');
    }
  }

  private checkAlarmQuery(query: string): void {
    const q = parseQuery(query);
    if (!q.condition) {
      throw invalid('Invalid query: an alarm query needs a condition such as "> 80"');
    }
  }

  private async createAlarm(req: EmulatorRequest): Promise<EmulatorResponse> {
    const parsed = createAlarmSchema.safeParse(await req.json());
    if (!parsed.success) throw invalid(zodMessage(parsed.error));
    const d = parsed.data;
    this.checkAlarmQuery(d.query);
    const now = this.clock().toISOString();
    const a: AlarmRecord = {
      id: this.ctx.newOcid('alarm'),
      displayName: d.displayName,
      compartmentId: d.compartmentId,
      metricCompartmentId: d.metricCompartmentId,
      namespace: d.namespace,
      query: d.query,
      resolution: d.resolution ?? '1m',
      pendingDuration: d.pendingDuration ?? 'PT1M',
      severity: d.severity,
      body: d.body ?? null,
      isNotificationsPerMetricDimensionEnabled: d.isNotificationsPerMetricDimensionEnabled ?? false,
      messageFormat: d.messageFormat ?? 'RAW',
      destinations: d.destinations,
      repeatNotificationDuration: d.repeatNotificationDuration ?? null,
      isEnabled: d.isEnabled,
      freeformTags: d.freeformTags ?? {},
      definedTags: d.definedTags ?? {},
      ...(d.ruleName !== undefined ? { ruleName: d.ruleName } : {}),
      notificationVersion: d.notificationVersion ?? '1.X',
      ...(d.notificationTitle !== undefined ? { notificationTitle: d.notificationTitle } : {}),
      evaluationSlackDuration: d.evaluationSlackDuration ?? 'PT3M',
      ...(d.alarmSummary !== undefined ? { alarmSummary: d.alarmSummary } : {}),
      lifecycleState: 'ACTIVE',
      timeCreated: now,
      timeUpdated: now,
    };
    this.alarms.put(a);
    const v = this.view(a);
    return { status: 200, headers: { etag: v.etag }, body: v.body };
  }

  private getAlarm(req: EmulatorRequest): EmulatorResponse {
    const v = this.view(this.requireAlarm(req.params.alarmId ?? ''));
    return { status: 200, headers: { etag: v.etag }, body: v.body };
  }

  private listAlarms(req: EmulatorRequest): EmulatorResponse {
    const compartmentId = req.query.get('compartmentId');
    if (!compartmentId) throw new OciApiError(400, 'MissingParameter', 'compartmentId is required');
    const displayName = req.query.get('displayName');
    const state = req.query.get('lifecycleState');
    const limit = Number(req.query.get('limit') ?? 1000);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw invalid('limit must be 1-1000');
    }
    const offset = Number(req.query.get('page') ?? 0);
    if (!Number.isInteger(offset) || offset < 0) throw invalid('page is not a valid page token');
    const all = this.alarms
      .list()
      .filter(
        (a) =>
          a.compartmentId === compartmentId &&
          (!displayName || a.displayName === displayName) &&
          (!state || a.lifecycleState === state),
      )
      .sort((a, b) => (a.displayName < b.displayName ? -1 : a.displayName > b.displayName ? 1 : 0));
    const items = all.slice(offset, offset + limit);
    const next = offset + limit < all.length ? String(offset + limit) : undefined;
    return { status: 200, headers: next ? { 'opc-next-page': next } : {}, body: items };
  }

  private async updateAlarm(req: EmulatorRequest): Promise<EmulatorResponse> {
    const a = this.requireAlarm(req.params.alarmId ?? '');
    this.checkIfMatch(req, this.view(a).etag);
    const parsed = updateAlarmSchema.safeParse(await req.json());
    if (!parsed.success) throw invalid(zodMessage(parsed.error));
    const d = parsed.data;
    if (d.query !== undefined) this.checkAlarmQuery(d.query);
    for (const [k, v] of Object.entries(d)) if (v !== undefined) a[k] = v;
    a.timeUpdated = this.clock().toISOString();
    this.alarms.put(a);
    const v = this.view(a);
    return { status: 200, headers: { etag: v.etag }, body: v.body };
  }

  private deleteAlarm(req: EmulatorRequest): EmulatorResponse {
    const a = this.requireAlarm(req.params.alarmId ?? '');
    this.checkIfMatch(req, this.view(a).etag);
    this.alarms.delete(a.id);
    this.states.delete(a.id);
    return { status: 204 };
  }

  // ---- evaluation --------------------------------------------------------------------------------

  private async evaluate(alarm: AlarmRecord, endMs: number, nowMs: number): Promise<void> {
    if (!alarm.isEnabled) return;
    const q = parseMql(alarm.query);
    const observed: Observation[] = [];
    for (const g of this.groupsFor(alarm.namespace, alarm.metricCompartmentId, q)) {
      const value = this.windowValue(g, q, endMs);
      if (value !== undefined)
        observed.push({ dims: g.dimensions, value, breached: meets(q, value) });
    }
    const rules = {
      pendingMin: isoDurationMinutes(alarm.pendingDuration) ?? 1,
      repeatMin: alarm.repeatNotificationDuration
        ? isoDurationMinutes(alarm.repeatNotificationDuration)
        : undefined,
      resetAfterMs: this.resetAfterMin * this.minuteMs,
      minuteMs: this.minuteMs,
    };
    const stored = this.states.get(alarm.id);
    if (alarm.isNotificationsPerMetricDimensionEnabled) {
      await this.evaluateSplit(alarm, q, observed, stored, rules, endMs, nowMs);
      return;
    }
    // A state left by the split mode (the flag was switched off) starts the grouped machine afresh.
    const state: AlarmState =
      stored && !stored.streams ? stored : { id: alarm.id, ...freshState() };
    const firing = observed.filter((o) => o.breached);
    const type = advance(
      state,
      { endMs, hasData: observed.length > 0, breached: firing.length > 0 },
      rules,
    );
    if (type !== undefined) {
      const streams = type === 'OK_TO_FIRING' || type === 'REPEAT' ? firing : observed;
      await this.notify(alarm, q, type, streams, state.episodeStartMs, nowMs, false);
    }
    this.states.put(state);
  }

  /**
   * Split notifications: each metric stream (its dimensions after grouping) has its own state
   * machine, transitions and messages. OCI: "a notification is sent for each firing metric
   * stream" and a stream's "status is derived from the metric stream's last associated
   * transition" (monitoringoverview.htm, alarm status per metric stream).
   */
  private async evaluateSplit(
    alarm: AlarmRecord,
    q: MqlQuery,
    observed: readonly Observation[],
    stored: AlarmState | undefined,
    rules: Parameters<typeof advance>[2],
    endMs: number,
    nowMs: number,
  ): Promise<void> {
    const streams = stored?.streams ?? {};
    const due: { type: AlarmMessageType; state: StreamAlarmState; value?: number }[] = [];
    const seen = new Set<string>();
    for (const o of observed) {
      const key = dimensionKey(o.dims);
      seen.add(key);
      const state = (streams[key] ??= { dimensions: o.dims, ...freshState() });
      const type = advance(state, { endMs, hasData: true, breached: o.breached }, rules);
      if (type !== undefined) due.push({ type, state, value: o.value });
    }
    for (const [key, state] of Object.entries(streams)) {
      if (seen.has(key)) continue;
      const type = advance(state, { endMs, hasData: false, breached: false }, rules);
      if (type !== undefined) due.push({ type, state });
      // OCI "stops tracking metric streams associated with RESET messages"; a stream that was OK
      // and stayed silent as long is dropped too, so the state stays bounded by live streams.
      if (endMs - state.lastDataMs >= rules.resetAfterMs) delete streams[key];
    }
    const states = Object.values(streams);
    this.states.put({
      id: alarm.id,
      status: states.some((s) => s.status === 'FIRING') ? 'FIRING' : 'OK',
      breachMinutes: 0,
      episodeStartMs: 0,
      lastNotifiedMs: Math.max(
        stored?.lastNotifiedMs ?? 0,
        ...due.map((d) => d.state.lastNotifiedMs),
      ),
      lastDataMs: observed.length > 0 ? endMs : (stored?.lastDataMs ?? 0),
      streams,
    });
    for (const d of due) {
      const stream = {
        dims: d.state.dimensions,
        ...(d.value !== undefined ? { value: d.value } : {}),
      };
      await this.notify(alarm, q, d.type, [stream], d.state.episodeStartMs, nowMs, true);
    }
  }

  private async notify(
    alarm: AlarmRecord,
    q: MqlQuery,
    type: AlarmMessageType,
    streams: readonly MessageStream[],
    episodeStartMs: number,
    nowMs: number,
    split: boolean,
  ): Promise<void> {
    const message = this.message(alarm, q, type, streams, episodeStartMs, nowMs, split);
    const text =
      alarm.messageFormat === 'PRETTY_JSON'
        ? JSON.stringify(message, null, 2)
        : JSON.stringify(message);
    for (const topicId of alarm.destinations) {
      try {
        await this.ctx.publishToTopic(topicId, message.title, text);
        this.publishedMessages.push({
          alarmId: alarm.id,
          topicId,
          type,
          timestampMs: nowMs,
          body: text,
        });
      } catch (err) {
        this.ctx.log.warn('monitoring.publish', { alarmId: alarm.id, topicId, error: err });
      }
    }
  }

  /** The payload of alarm-message-format.htm (oci-facts C). */
  private message(
    alarm: AlarmRecord,
    q: MqlQuery,
    type: AlarmMessageType,
    streams: readonly MessageStream[],
    episodeStartMs: number,
    nowMs: number,
    split: boolean,
  ) {
    const status = type === 'OK_TO_FIRING' || type === 'REPEAT' ? 'FIRING' : 'OK';
    // Stable for one firing episode (of one stream, when split): OK_TO_FIRING, its REPEATs and
    // the FIRING_TO_OK or RESET that ends it share it.
    const dedupeKey = createHash('sha256')
      .update(`${alarm.id}|${episodeStartMs}|${split ? dimensionKey(streams[0]?.dims ?? {}) : ''}`)
      .digest('hex')
      .slice(0, 36);
    const valued = streams.filter((s): s is Required<MessageStream> => s.value !== undefined);
    return {
      dedupeKey,
      title: alarm.notificationTitle ?? alarm.displayName,
      body: alarm.body ?? null,
      type,
      severity: alarm.severity,
      timestampEpochMillis: nowMs,
      timestamp: new Date(nowMs).toISOString(),
      alarmMetaData: [
        {
          id: alarm.id,
          status,
          severity: alarm.severity,
          namespace: alarm.namespace,
          query: alarm.query,
          totalMetricsFiring: status === 'FIRING' ? streams.length : 0,
          dimensions: streams.slice(0, 100).map((s) => s.dims),
          // Metric values are strings in OCI's payload.
          metricValues: valued.slice(0, 100).map((s) => ({ [q.expression]: String(s.value) })),
          alarmUrl: `https://cloud.oracle.com/monitoring/alarms/${alarm.id}`,
          alarmSummary:
            alarm.alarmSummary ?? `Alarm "${alarm.displayName}" is in a "${status}" state`,
        },
      ],
      notificationType: split
        ? 'Split messages per metric stream'
        : 'Grouped messages across metric streams',
      version: 1.5,
    };
  }
}
