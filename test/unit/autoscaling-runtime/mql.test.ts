import { describe, expect, it } from 'vitest';
import {
  aggregate,
  isoDurationMinutes,
  matchesFilters,
  meets,
  MqlError,
  parseMql,
} from '#local/emulator/monitoring-mql.ts';

describe('parseMql', () => {
  it('parses the Terraform alarm query shape (spaces around =, percentile, comparison)', () => {
    const q = parseMql(
      'InvocationLatency[1m]{resourceId = "ocid1.generativeaidedicatedaicluster.oc1..a"}.percentile(0.99) > 5000',
    );
    expect(q).toEqual({
      metric: 'InvocationLatency',
      intervalMin: 1,
      filters: { resourceId: 'ocid1.generativeaidedicatedaicluster.oc1..a' },
      statistic: 'percentile',
      quantile: 0.99,
      condition: { operator: '>', threshold: 5000 },
      expression:
        'InvocationLatency[1m]{resourceId = "ocid1.generativeaidedicatedaicluster.oc1..a"}.percentile(0.99)',
    });
  });

  it('parses several filters, hours, each statistic and each operator', () => {
    expect(parseMql('A[1h]{a="1",b="2"}.sum()').filters).toEqual({ a: '1', b: '2' });
    expect(parseMql('A[1h].sum()').intervalMin).toBe(60);
    for (const s of ['mean', 'sum', 'max', 'min', 'count'] as const) {
      expect(parseMql(`DerivedUtilization[5m].${s}()`).statistic).toBe(s);
    }
    for (const op of ['>', '>=', '<', '<=', '==', '!='] as const) {
      expect(parseMql(`X[1m].mean() ${op} 30.5`).condition).toEqual({
        operator: op,
        threshold: 30.5,
      });
    }
    expect(parseMql('X[1m].mean()').condition).toBeUndefined();
  });

  it.each([
    ['', 'expected a metric name'],
    ['X.mean()', 'expected an interval "["'],
    ['X[1s].mean()', 'expected an interval such as 1m'],
    ['X[1m]{a=1}.mean()', 'expected a quoted dimension value'],
    ['X[1m]{a="1"', 'expected the end of the dimension filter'],
    ['X[1m]{a=~"1"}.mean()', 'only "=" dimension filters'],
    ['X[1m].median()', 'unknown statistic median()'],
    ['X[1m].absent()', 'absent() is not supported'],
    ['X[1m].percentile(1.5)', 'percentile() needs a number in (0, 1)'],
    ['X[1m].mean().max()', 'only one statistic'],
    ['X[1m].mean() >', 'expected a number after ">"'],
    ['X[1m].mean() > 5 junk', 'unexpected "junk"'],
    ['X[1m]{a="unterminated}.mean()', 'unterminated string'],
  ])('rejects %j with a clear message', (text, message) => {
    let err: unknown;
    try {
      parseMql(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MqlError);
    expect((err as Error).message).toContain(message);
    expect((err as MqlError).position).toBeGreaterThanOrEqual(0);
  });
});

describe('aggregate and meets', () => {
  const s = (...vs: number[]) => vs.map((v, i) => ({ t: i, v, c: 2 }));
  it('computes each statistic', () => {
    expect(aggregate({ statistic: 'mean' }, s(1, 2, 6))).toBe(3);
    expect(aggregate({ statistic: 'sum' }, s(1, 2, 6))).toBe(9);
    expect(aggregate({ statistic: 'max' }, s(1, 2, 6))).toBe(6);
    expect(aggregate({ statistic: 'min' }, s(1, 2, 6))).toBe(1);
    expect(aggregate({ statistic: 'count' }, s(1, 2, 6))).toBe(6);
    const hundred = s(...Array.from({ length: 100 }, (_, i) => i + 1));
    expect(aggregate({ statistic: 'percentile', quantile: 0.99 }, hundred)).toBe(99);
    expect(aggregate({ statistic: 'percentile', quantile: 0.5 }, s(7))).toBe(7);
    expect(aggregate({ statistic: 'mean' }, [])).toBeUndefined();
  });
  it('compares with the condition', () => {
    const q = parseMql('X[1m].mean() < 30');
    expect(meets(q, 29.9)).toBe(true);
    expect(meets(q, 30)).toBe(false);
    expect(meets(parseMql('X[1m].mean()'), 1)).toBe(true);
  });
  it('matches dimension filters exactly', () => {
    expect(matchesFilters({ a: '1' }, { a: '1', b: '2' })).toBe(true);
    expect(matchesFilters({ a: '1' }, { a: '2' })).toBe(false);
    expect(matchesFilters({}, {})).toBe(true);
  });
});

describe('isoDurationMinutes', () => {
  it.each([
    ['PT1M', 1],
    ['PT5M', 5],
    ['PT1H', 60],
    ['PT1H30M', 90],
    ['P1D', 1440],
    ['P30D', 43200],
    ['PT120S', 2],
  ])('%s is %d minutes', (text, min) => expect(isoDurationMinutes(text)).toBe(min));
  it.each(['', 'P', 'PT', '5M', 'PT30S', 'PT1.5M', 'P1W'])('%j is rejected', (text) =>
    expect(isoDurationMinutes(text)).toBeUndefined(),
  );
});
