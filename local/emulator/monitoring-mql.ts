/**
 * The subset of the Monitoring Query Language (MQL) that dacflow's alarms and queries use, parsed
 * by a small recursive-descent parser so a bad query gets a precise 400 instead of a silent
 * mismatch:
 *
 *   Metric[1m]{dim = "v", dim2 = "w"}.groupBy(dim3, dim4).mean() > 5000
 *
 * interval in minutes or hours (`[1m]`, `[5m]`, `[1h]`), an optional dimension filter of `=`
 * matches, an optional grouping function (`groupBy(d1, d2, ...)` or `grouping()`), exactly one
 * statistic (`mean`, `sum`, `max`, `min`, `count`, `percentile(q)`), and an optional comparison
 * (`>`, `>=`, `<`, `<=`, `==`, `!=`) with a number. Joins, `absent()` and arithmetic are not in the
 * subset and are rejected by name.
 */

export const mqlStatistics = ['mean', 'sum', 'max', 'min', 'count', 'percentile'] as const;
export type MqlStatistic = (typeof mqlStatistics)[number];

export const mqlOperators = ['>', '>=', '<', '<=', '==', '!='] as const;
export type MqlOperator = (typeof mqlOperators)[number];

/**
 * A grouping function. `groupBy(d1, d2)` merges the streams that share values of d1 and d2 into one
 * stream carrying only those dimensions; `grouping()` (no dimensions) merges every stream into one
 * stream without dimensions (query-metric-groupby.htm, query-metric-grouping.htm).
 */
export interface MqlGrouping {
  function: 'groupBy' | 'grouping';
  /** The named dimensions, in query order; empty for `grouping()`. */
  dimensions: string[];
}

export interface MqlQuery {
  metric: string;
  intervalMin: number;
  filters: Record<string, string>;
  /** Absent when the query has no grouping function: each stream is evaluated on its own. */
  grouping?: MqlGrouping;
  statistic: MqlStatistic;
  /** For `percentile(q)`: q in (0, 1). */
  quantile?: number;
  condition?: { operator: MqlOperator; threshold: number };
  /** The query text without the condition: the key OCI uses in an alarm's `metricValues`. */
  expression: string;
}

/** A query outside the subset or malformed; `position` is the 0-based character offset. */
export class MqlError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
    this.name = 'MqlError';
  }
}

const groupingFunctions = new Set(['groupBy', 'grouping']);

const unsupported = new Set(['absent', 'rate', 'increment', 'first', 'last', 'join']);

class Parser {
  private pos = 0;
  constructor(private readonly text: string) {}

  private ws(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private peek(): string {
    this.ws();
    return this.text[this.pos] ?? '';
  }

  private expect(ch: string, what: string): void {
    if (this.peek() !== ch) {
      const found = this.text[this.pos];
      throw new MqlError(
        `expected ${what} "${ch}" but found ${found === undefined ? 'the end' : `"${found}"`}`,
        this.pos,
      );
    }
    this.pos++;
  }

  private match(re: RegExp): string | undefined {
    this.ws();
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m || m.index !== this.pos) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  parse(): MqlQuery {
    const metric = this.match(/[A-Za-z][A-Za-z0-9._$-]*/y);
    if (!metric) throw new MqlError('expected a metric name', this.pos);
    this.expect('[', 'an interval');
    const iv = this.match(/(\d+)\s*([mhd])/y);
    if (!iv) throw new MqlError('expected an interval such as 1m or 5m', this.pos);
    const [, n, unit] = /(\d+)\s*([mhd])/.exec(iv)!;
    const intervalMin = Number(n) * (unit === 'h' ? 60 : unit === 'd' ? 1440 : 1);
    if (intervalMin < 1 || intervalMin > 1440) {
      throw new MqlError('interval must be between 1m and 1d', this.pos);
    }
    this.expect(']', 'the end of the interval');
    const filters: Record<string, string> = {};
    if (this.peek() === '{') {
      this.pos++;
      for (;;) {
        const key = this.match(/[A-Za-z_][A-Za-z0-9._-]*/y);
        if (!key) throw new MqlError('expected a dimension name', this.pos);
        if (this.match(/=~|!=/y))
          throw new MqlError('only "=" dimension filters are supported', this.pos - 2);
        this.expect('=', 'dimension filter');
        filters[key] = this.string();
        if (this.peek() === ',') {
          this.pos++;
          continue;
        }
        this.expect('}', 'the end of the dimension filter');
        break;
      }
    }
    this.expect('.', 'a statistic');
    this.ws();
    let statStart = this.pos;
    let name = this.match(/[A-Za-z]+/y);
    let grouping: MqlGrouping | undefined;
    if (name !== undefined && groupingFunctions.has(name)) {
      // OCI's order: Metric[interval]{filters}.groupingFunction().statistic() (MQL reference).
      grouping = this.grouping(name as MqlGrouping['function']);
      this.expect('.', 'a statistic after the grouping function');
      this.ws();
      statStart = this.pos;
      name = this.match(/[A-Za-z]+/y);
      if (name !== undefined && groupingFunctions.has(name)) {
        throw new MqlError(
          `only one grouping function per query (found .${grouping.function}() and .${name}())`,
          statStart,
        );
      }
    }
    if (!name) throw new MqlError('expected a statistic such as mean()', this.pos);
    if (unsupported.has(name)) {
      throw new MqlError(`${name}() is not supported by the emulator`, statStart);
    }
    if (!(mqlStatistics as readonly string[]).includes(name)) {
      throw new MqlError(
        `unknown statistic ${name}() (supported: ${mqlStatistics.join(', ')})`,
        statStart,
      );
    }
    this.expect('(', 'the statistic argument list');
    let quantile: number | undefined;
    if (name === 'percentile') {
      const q = this.match(/\d*\.?\d+(?:[eE][-+]?\d+)?/y);
      if (!q) throw new MqlError('percentile() needs a number in (0, 1)', this.pos);
      quantile = Number(q);
      if (!(quantile > 0 && quantile < 1)) {
        throw new MqlError('percentile() needs a number in (0, 1)', this.pos - q.length);
      }
    }
    this.expect(')', 'the end of the statistic');
    const expressionEnd = this.pos;
    if (this.peek() === '.') {
      const at = this.pos + 1;
      const next = this.match(/\.[A-Za-z]+/y)?.slice(1) ?? '';
      throw new MqlError(
        groupingFunctions.has(next)
          ? `${next}() must come before the statistic`
          : unsupported.has(next) || (mqlStatistics as readonly string[]).includes(next)
            ? `only one statistic is supported (found .${next}())`
            : `unexpected .${next}`,
        at,
      );
    }
    let condition: MqlQuery['condition'];
    const op = this.match(/>=|<=|==|!=|>|</y);
    if (op) {
      const num = this.match(/-?\d*\.?\d+(?:[eE][-+]?\d+)?/y);
      if (!num) throw new MqlError(`expected a number after "${op}"`, this.pos);
      condition = { operator: op as MqlOperator, threshold: Number(num) };
    }
    this.ws();
    if (this.pos < this.text.length) {
      throw new MqlError(`unexpected "${this.text.slice(this.pos, this.pos + 10)}"`, this.pos);
    }
    return {
      metric,
      intervalMin,
      filters,
      ...(grouping ? { grouping } : {}),
      statistic: name as MqlStatistic,
      ...(quantile !== undefined ? { quantile } : {}),
      ...(condition ? { condition } : {}),
      expression: this.text.slice(0, expressionEnd).trim(),
    };
  }

  /** The argument list of a grouping function whose name has just been read. */
  private grouping(fn: MqlGrouping['function']): MqlGrouping {
    this.expect('(', `the ${fn}() argument list`);
    const dimensions: string[] = [];
    if (fn === 'grouping') {
      if (this.peek() !== ')') {
        throw new MqlError('grouping() takes no arguments (use groupBy(dimension))', this.pos);
      }
      this.pos++;
      return { function: fn, dimensions };
    }
    if (this.peek() === ')') {
      throw new MqlError('groupBy() needs at least one dimension name', this.pos);
    }
    for (;;) {
      this.ws();
      const at = this.pos;
      const dim = this.match(/[A-Za-z_][A-Za-z0-9._-]*/y);
      if (!dim) throw new MqlError('expected a dimension name in groupBy()', this.pos);
      if (dimensions.includes(dim)) {
        throw new MqlError(`dimension ${dim} appears twice in groupBy()`, at);
      }
      dimensions.push(dim);
      if (this.peek() === ',') {
        this.pos++;
        continue;
      }
      this.expect(')', 'the end of groupBy()');
      return { function: fn, dimensions };
    }
  }

  private string(): string {
    this.ws();
    const quote = this.text[this.pos];
    if (quote !== '"' && quote !== "'") {
      throw new MqlError('expected a quoted dimension value', this.pos);
    }
    const start = ++this.pos;
    while (this.pos < this.text.length && this.text[this.pos] !== quote) this.pos++;
    if (this.pos >= this.text.length) throw new MqlError('unterminated string', start - 1);
    return this.text.slice(start, this.pos++);
  }
}

/** Parses one query of the subset; throws `MqlError` with a position on anything else. */
export function parseMql(text: string): MqlQuery {
  if (text.length > 4000) throw new MqlError('query is longer than 4000 characters', 4000);
  return new Parser(text).parse();
}

/** One stored observation: value and sample count (OCI's `Datapoint.count`, default 1). */
export interface Sample {
  t: number;
  v: number;
  c: number;
}

/** Applies the query's statistic to the samples of one window; undefined when there are none. */
export function aggregate(q: Pick<MqlQuery, 'statistic' | 'quantile'>, samples: readonly Sample[]) {
  if (samples.length === 0) return undefined;
  switch (q.statistic) {
    case 'mean':
      return samples.reduce((s, x) => s + x.v, 0) / samples.length;
    case 'sum':
      return samples.reduce((s, x) => s + x.v, 0);
    // A reduce, not Math.max(...): a grouped window can hold more samples than a call has arguments.
    case 'max':
      return samples.reduce((m, x) => (x.v > m ? x.v : m), -Infinity);
    case 'min':
      return samples.reduce((m, x) => (x.v < m ? x.v : m), Infinity);
    case 'count':
      return samples.reduce((s, x) => s + x.c, 0);
    case 'percentile': {
      // Nearest rank: the smallest value with at least q of the samples at or under it.
      const sorted = samples.map((x) => x.v).sort((a, b) => a - b);
      const rank = Math.max(1, Math.ceil((q.quantile ?? 0.5) * sorted.length));
      return sorted[rank - 1]!;
    }
  }
}

/** The metric streams of one result of a query: one stream, or the streams a grouping merged. */
export interface StreamGroup<S> {
  /** The result's dimensions: the stream's own, or only the grouped ones. */
  dimensions: Record<string, string>;
  streams: S[];
}

/**
 * Applies the query's grouping function to the streams that matched its name and filters, so
 * that SummarizeMetricsData and alarm evaluation see the same results. Without a grouping each
 * stream is its own result. A stream that lacks one of the groupBy dimensions is left out: OCI
 * documents nothing for it, and putting it in a group without that dimension would hand a split
 * alarm a "metric stream" that names no resource (for dacflow, a deployment it cannot resize).
 */
export function groupStreams<S extends { dimensions: Readonly<Record<string, string>> }>(
  grouping: MqlGrouping | undefined,
  streams: readonly S[],
): StreamGroup<S>[] {
  if (!grouping) return streams.map((s) => ({ dimensions: { ...s.dimensions }, streams: [s] }));
  const groups = new Map<string, StreamGroup<S>>();
  for (const s of streams) {
    const values = grouping.dimensions.map((d) => s.dimensions[d]);
    if (values.some((v) => v === undefined)) continue;
    const key = JSON.stringify(values);
    let g = groups.get(key);
    if (!g) {
      g = {
        dimensions: Object.fromEntries(grouping.dimensions.map((d, i) => [d, values[i]!])),
        streams: [],
      };
      groups.set(key, g);
    }
    g.streams.push(s);
  }
  return [...groups.values()];
}

/** The first index of `points` (sorted by time) at or after `t`. */
function lowerBound(points: readonly Sample[], t: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]!.t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The query's statistic over the union of the streams' samples in `[startMs, endMs)`: a grouped
 * percentile ranks every sample of every stream, a grouped mean averages every sample.
 * Undefined when no stream has a sample in the window. Each stream's points must be sorted by time.
 */
export function windowAggregate(
  q: Pick<MqlQuery, 'statistic' | 'quantile'>,
  streams: readonly { points: readonly Sample[] }[],
  startMs: number,
  endMs: number,
): number | undefined {
  const samples: Sample[] = [];
  for (const s of streams) {
    for (let i = lowerBound(s.points, startMs); i < s.points.length; i++) {
      const p = s.points[i]!;
      if (p.t >= endMs) break;
      samples.push(p);
    }
  }
  return aggregate(q, samples);
}

/** True when `value` meets the query's condition (always true without one). */
export function meets(q: Pick<MqlQuery, 'condition'>, value: number): boolean {
  if (!q.condition) return true;
  const t = q.condition.threshold;
  switch (q.condition.operator) {
    case '>':
      return value > t;
    case '>=':
      return value >= t;
    case '<':
      return value < t;
    case '<=':
      return value <= t;
    case '==':
      return value === t;
    case '!=':
      return value !== t;
  }
}

/** True when a stream's dimensions satisfy every filter of the query. */
export function matchesFilters(
  filters: Readonly<Record<string, string>>,
  dimensions: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(filters).every(([k, v]) => dimensions[k] === v);
}

/**
 * ISO-8601 durations as Monitoring takes them (`PT5M`, `PT1H`, `P1D`), in whole minutes;
 * undefined when malformed or not a whole number of minutes.
 */
export function isoDurationMinutes(text: string): number | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return undefined;
  const [, d, h, min, s] = m;
  const seconds =
    Number(d ?? 0) * 86_400 + Number(h ?? 0) * 3600 + Number(min ?? 0) * 60 + Number(s ?? 0);
  if (seconds % 60 !== 0) return undefined;
  return seconds / 60;
}
