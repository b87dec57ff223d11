import { TraceError } from './errors.ts';
import { checkTrace, type TraceRow } from './simulate.ts';

/** The header every trace CSV starts with. */
export const TRACE_CSV_HEADER = 'minute,tokens_per_second';

/**
 * Parses a demand trace CSV (`minute,tokens_per_second`, one row per minute). Errors name the
 * 1-based line so a user can fix the file; blank lines and a trailing newline are allowed.
 */
export function parseTraceCsv(text: string, maxRows = 1_000_000): TraceRow[] {
  const lines = text.split(/\r?\n/);
  const header = lines[0]?.trim().replace(/^\uFEFF/, '');
  if (header !== TRACE_CSV_HEADER) {
    throw new TraceError(`line 1: expected header "${TRACE_CSV_HEADER}"`, { line: 1 });
  }
  const rows: TraceRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const lineNo = i + 1;
    const cells = line.split(',');
    if (cells.length !== 2) {
      throw new TraceError(`line ${lineNo}: expected 2 fields, found ${cells.length}`, {
        line: lineNo,
      });
    }
    const [m, t] = cells as [string, string];
    if (!/^-?\d+$/.test(m.trim())) {
      throw new TraceError(`line ${lineNo}: minute "${m.slice(0, 20)}" is not an integer`, {
        line: lineNo,
      });
    }
    const tps = Number(t.trim());
    if (t.trim() === '' || !Number.isFinite(tps) || tps < 0) {
      throw new TraceError(
        `line ${lineNo}: tokens_per_second "${t.slice(0, 20)}" is not a non-negative number`,
        {
          line: lineNo,
        },
      );
    }
    const minute = Number(m.trim());
    const prev = rows.at(-1);
    if (prev && minute !== prev.minute + 1) {
      throw new TraceError(`line ${lineNo}: minute ${minute} does not follow ${prev.minute}`, {
        line: lineNo,
      });
    }
    rows.push({ minute, tokensPerSecond: tps });
    if (rows.length > maxRows)
      throw new TraceError(`trace has over ${maxRows} rows`, { line: lineNo });
  }
  if (rows.length === 0) throw new TraceError('trace has no data rows', { line: lines.length });
  checkTrace(rows);
  return rows;
}

export function formatTraceCsv(trace: readonly TraceRow[]): string {
  return (
    [TRACE_CSV_HEADER, ...trace.map((r) => `${r.minute},${r.tokensPerSecond}`)].join('\n') + '\n'
  );
}

/** mulberry32: a tiny seeded PRNG, so traces are reproducible without Math.random. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const ShippedTrace = {
  DiurnalWeek: 'diurnal-week',
  SuddenSpike: 'sudden-spike',
  SlowRamp: 'slow-ramp',
  NoisyFlat: 'noisy-flat',
} as const;
export type ShippedTrace = (typeof ShippedTrace)[keyof typeof ShippedTrace];
export const shippedTraces: readonly ShippedTrace[] = Object.values(ShippedTrace);

/** Which traces have a daily cycle (the static-peak target applies only to these). */
export const dailyCycleTraces: ReadonlySet<ShippedTrace> = new Set([
  ShippedTrace.DiurnalWeek,
  ShippedTrace.SuddenSpike,
]);

const DAY_MIN = 1440;

/** A business-day curve in [0, 1]: low at night, a broad peak in the afternoon. */
function dailyShape(minuteOfDay: number): number {
  const phase = (2 * Math.PI * (minuteOfDay - 4 * 60)) / DAY_MIN; // trough at 04:00
  const s = 0.5 - 0.5 * Math.cos(phase);
  return s ** 1.5;
}

/** Smoothed noise: an AR(1) process, so minute-to-minute jitter looks like real traffic. */
function noise(rand: () => number, sigma: number, minutes: number, keep = 0.8): number[] {
  const out: number[] = [];
  let x = 0;
  for (let i = 0; i < minutes; i++) {
    const u = rand() + rand() + rand() - 1.5; // roughly normal, sd 0.5
    x = keep * x + Math.sqrt(1 - keep * keep) * u * 2 * sigma;
    out.push(x);
  }
  return out;
}

/**
 * The benchmark traces dacflow ships in bench/traces/, generated from a seed so a test can prove
 * the committed CSVs are exactly these. Demand is integer tokens/s; sizes are in the product
 * notes' "production" band (5-30 units).
 */
export function generateTrace(kind: ShippedTrace, seed = 42): TraceRow[] {
  const rand = seededRandom(seed);
  const rows: TraceRow[] = [];
  const push = (minute: number, tps: number) =>
    rows.push({ minute, tokensPerSecond: Math.max(0, Math.round(tps)) });
  switch (kind) {
    case ShippedTrace.DiurnalWeek: {
      const minutes = 7 * DAY_MIN;
      const n = noise(rand, 0.03, minutes);
      for (let i = 0; i < minutes; i++) {
        const day = Math.floor(i / DAY_MIN);
        const peak = day >= 5 ? 21_000 : 36_000; // weekend at about 60%
        const trough = 4_500;
        push(i, (trough + (peak - trough) * dailyShape(i % DAY_MIN)) * (1 + n[i]!));
      }
      break;
    }
    case ShippedTrace.SuddenSpike: {
      const minutes = 3 * DAY_MIN;
      const n = noise(rand, 0.03, minutes);
      const spikeStart = DAY_MIN + 14 * 60;
      for (let i = 0; i < minutes; i++) {
        let tps = 4_500 + 13_500 * dailyShape(i % DAY_MIN);
        if (i >= spikeStart && i < spikeStart + 90) tps *= 2; // a launch: demand doubles at once
        push(i, tps * (1 + n[i]!));
      }
      break;
    }
    case ShippedTrace.SlowRamp: {
      const minutes = 2 * DAY_MIN;
      const n = noise(rand, 0.03, minutes);
      for (let i = 0; i < minutes; i++) push(i, (6_000 + (39_000 * i) / minutes) * (1 + n[i]!));
      break;
    }
    case ShippedTrace.NoisyFlat: {
      const minutes = 2 * DAY_MIN;
      const n = noise(rand, 0.04, minutes, 0.3);
      for (let i = 0; i < minutes; i++) push(i, 22_500 * (1 + n[i]!));
      break;
    }
  }
  return rows;
}
