/** MQL grouping functions in the emulator's subset: parsing, error positions, grouped values. */
import { fc, test as property } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  groupStreams,
  MqlError,
  parseMql,
  windowAggregate,
  type Sample,
} from '#local/emulator/monitoring-mql.ts';

function mqlError(text: string): MqlError {
  try {
    parseMql(text);
  } catch (err) {
    if (err instanceof MqlError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

/** Samples one per `stepMs` from `t0`, one per value. */
const points = (t0: number, stepMs: number, ...vs: number[]): Sample[] =>
  vs.map((v, i) => ({ t: t0 + i * stepMs, v, c: 1 }));

describe('parseMql grouping functions', () => {
  it('parses groupBy between the filter and the statistic and keeps it in the expression', () => {
    const text =
      'PredictLatency[1m]{result = "Success"}.groupBy(resourceId).percentile(0.99) > 5000';
    expect(parseMql(text)).toEqual({
      metric: 'PredictLatency',
      intervalMin: 1,
      filters: { result: 'Success' },
      grouping: { function: 'groupBy', dimensions: ['resourceId'] },
      statistic: 'percentile',
      quantile: 0.99,
      condition: { operator: '>', threshold: 5000 },
      expression: 'PredictLatency[1m]{result = "Success"}.groupBy(resourceId).percentile(0.99)',
    });
  });

  it('parses several dimensions with spaces, grouping(), and no grouping', () => {
    const q = parseMql('GPUCoreUtilization[5m] . groupBy( resourceId , instanceId ) . mean() < 30');
    expect(q.grouping).toEqual({ function: 'groupBy', dimensions: ['resourceId', 'instanceId'] });
    expect(q.statistic).toBe('mean');
    expect(q.expression).toBe(
      'GPUCoreUtilization[5m] . groupBy( resourceId , instanceId ) . mean()',
    );
    expect(parseMql('X[1m].grouping().count()').grouping).toEqual({
      function: 'grouping',
      dimensions: [],
    });
    expect(parseMql('X[1m].grouping( ).max()').statistic).toBe('max');
    expect(parseMql('X[1m]{a="1"}.mean()').grouping).toBeUndefined();
    expect(parseMql('X[1m].groupBy(resource.id, a_b-c).sum()').grouping?.dimensions).toEqual([
      'resource.id',
      'a_b-c',
    ]);
  });

  it.each([
    // [query, message, position]
    ['X[1m].groupBy().mean()', 'groupBy() needs at least one dimension name', 14],
    ['X[1m].groupBy(  ).mean()', 'groupBy() needs at least one dimension name', 16],
    ['X[1m].groupBy(a, b, a).mean()', 'dimension a appears twice in groupBy()', 20],
    ['X[1m].groupBy(a,).mean()', 'expected a dimension name in groupBy()', 16],
    ['X[1m].groupBy("a").mean()', 'expected a dimension name in groupBy()', 14],
    ['X[1m].groupBy(a b).mean()', 'expected the end of groupBy() ")" but found "b"', 16],
    ['X[1m].groupBy(a).grouping().mean()', 'only one grouping function per query', 17],
    ['X[1m].grouping().groupBy(a).mean()', 'only one grouping function per query', 17],
    ['X[1m].groupBy(a).groupBy(b).mean()', 'found .groupBy() and .groupBy()', 17],
    ['X[1m].grouping(a).mean()', 'grouping() takes no arguments', 15],
    ['X[1m].mean().groupBy(a)', 'groupBy() must come before the statistic', 13],
    ['X[1m].mean().grouping() > 1', 'grouping() must come before the statistic', 13],
    ['X[1m].groupBy(a)', 'expected a statistic after the grouping function "."', 16],
    ['X[1m].groupBy(a) > 1', 'expected a statistic after the grouping function "."', 17],
    ['X[1m].groupBy(a).median()', 'unknown statistic median()', 17],
    ['X[1m].groupBy(a).absent()', 'absent() is not supported', 17],
    ['X[1m].groupBy a.mean()', 'expected the groupBy() argument list "("', 14],
  ])('rejects %j: %s at %d', (text, message, position) => {
    const err = mqlError(text);
    expect(err.message).toContain(message);
    expect(err.position).toBe(position);
    expect(err.message).toContain(`at position ${position}`);
  });
});

describe('groupStreams and windowAggregate', () => {
  const deployA = 'ocid1.datasciencemodeldeployment.oc1..a';
  const deployB = 'ocid1.datasciencemodeldeployment.oc1..b';
  const gpu = [
    { dimensions: { resourceId: deployA, instanceId: 'i1' }, points: points(0, 10, 20) },
    { dimensions: { resourceId: deployA, instanceId: 'i2' }, points: points(0, 10, 40) },
    { dimensions: { resourceId: deployB, instanceId: 'i3' }, points: points(0, 10, 90) },
  ];

  it('groupBy(resourceId): two instances of one deployment at 20 and 40 give mean 30', () => {
    const q = parseMql('GPUCoreUtilization[1m].groupBy(resourceId).mean() < 30');
    const groups = groupStreams(q.grouping, gpu);
    expect(groups.map((g) => g.dimensions)).toEqual([
      { resourceId: deployA },
      { resourceId: deployB },
    ]);
    expect(groups.map((g) => g.streams.length)).toEqual([2, 1]);
    expect(groups.map((g) => windowAggregate(q, g.streams, 0, 60))).toEqual([30, 90]);
  });

  it('a grouped mean averages every sample, not the streams means', () => {
    const streams = [
      { dimensions: { resourceId: deployA, instanceId: 'i1' }, points: points(0, 10, 10, 10, 10) },
      { dimensions: { resourceId: deployA, instanceId: 'i2' }, points: points(0, 10, 50) },
    ];
    const [group] = groupStreams({ function: 'groupBy', dimensions: ['resourceId'] }, streams);
    // (10 + 10 + 10 + 50) / 4, where a mean of means would be 30.
    expect(windowAggregate({ statistic: 'mean' }, group!.streams, 0, 60)).toBe(20);
  });

  it('a grouped percentile ranks the samples of every stream of the group', () => {
    // 50 fast and 50 slow samples in two streams (result = Success / Failure).
    const latency = [
      {
        dimensions: { resourceId: deployA, result: 'Success' },
        points: points(0, 1, ...Array.from({ length: 50 }, (_, i) => i + 1)),
      },
      {
        dimensions: { resourceId: deployA, result: 'Failure' },
        points: points(0, 1, ...Array.from({ length: 50 }, (_, i) => 1000 + i)),
      },
    ];
    const q = parseMql('PredictLatency[1m].groupBy(resourceId).percentile(0.5)');
    const [group] = groupStreams(q.grouping, latency);
    expect(group!.dimensions).toEqual({ resourceId: deployA });
    // Nearest rank over 100 samples: the 50th is the slowest of the fast stream.
    expect(windowAggregate(q, group!.streams, 0, 60)).toBe(50);
    expect(
      windowAggregate({ statistic: 'percentile', quantile: 0.99 }, group!.streams, 0, 60),
    ).toBe(1048);
    // Ungrouped, each stream is its own result with its own P50.
    const single = groupStreams(undefined, latency);
    expect(single.map((g) => windowAggregate(q, g.streams, 0, 60))).toEqual([25, 1024]);
    expect(single.map((g) => g.dimensions)).toEqual(latency.map((s) => s.dimensions));
  });

  it('count, sum, max and min combine every stream; the window is [start, end)', () => {
    const streams = [
      { dimensions: { r: 'a', i: '1' }, points: [{ t: 0, v: 5, c: 3 }] },
      { dimensions: { r: 'a', i: '2' }, points: points(0, 10, 7, 1, 100) }, // t = 0, 10, 20
    ];
    const all = groupStreams({ function: 'grouping', dimensions: [] }, streams);
    expect(all).toHaveLength(1);
    expect(all[0]!.dimensions).toEqual({});
    const g = all[0]!.streams;
    expect(windowAggregate({ statistic: 'count' }, g, 0, 20)).toBe(5);
    expect(windowAggregate({ statistic: 'sum' }, g, 0, 20)).toBe(13);
    expect(windowAggregate({ statistic: 'max' }, g, 0, 20)).toBe(7);
    expect(windowAggregate({ statistic: 'min' }, g, 10, 21)).toBe(1);
    expect(windowAggregate({ statistic: 'max' }, g, 10, 21)).toBe(100);
    expect(windowAggregate({ statistic: 'mean' }, g, 30, 60)).toBeUndefined();
  });

  it('leaves out a stream that lacks a groupBy dimension', () => {
    const streams: { dimensions: Record<string, string>; points: Sample[] }[] = [
      { dimensions: { resourceId: deployA, instanceId: 'i1' }, points: points(0, 10, 20) },
      { dimensions: { instanceId: 'orphan' }, points: points(0, 10, 1000) },
    ];
    const groups = groupStreams({ function: 'groupBy', dimensions: ['resourceId'] }, streams);
    expect(groups).toEqual([{ dimensions: { resourceId: deployA }, streams: [streams[0]] }]);
    // grouping() has no dimension to lack: it takes both.
    expect(
      groupStreams({ function: 'grouping', dimensions: [] }, streams)[0]!.streams,
    ).toHaveLength(2);
  });

  it('max over a window larger than a call has arguments', () => {
    const many = [
      {
        dimensions: { r: 'a' },
        points: Array.from({ length: 300_001 }, (_, t) => ({ t, v: t === 300_000 ? 2 : 1, c: 1 })),
      },
    ];
    expect(windowAggregate({ statistic: 'max' }, many, 0, 400_000)).toBe(2);
  });

  const dimsArb = fc.record(
    { r: fc.constantFrom('a', 'b', 'c'), z: fc.constantFrom('x', 'y') },
    { requiredKeys: ['z'] },
  );
  property.prop([fc.array(dimsArb, { maxLength: 12 })])(
    'groupBy partitions exactly the streams that carry every grouped dimension',
    (dimsList) => {
      const streams = dimsList.map((dimensions, i) => ({ dimensions, id: i }));
      const groups = groupStreams({ function: 'groupBy', dimensions: ['r', 'z'] }, streams);
      const members = groups.flatMap((g) => g.streams.map((s) => s.id)).sort((a, b) => a - b);
      expect(members).toEqual(streams.filter((s) => s.dimensions.r !== undefined).map((s) => s.id));
      for (const g of groups) {
        expect(Object.keys(g.dimensions)).toEqual(['r', 'z']);
        for (const s of g.streams) {
          expect({ r: s.dimensions.r, z: s.dimensions.z }).toEqual(g.dimensions);
        }
      }
      expect(new Set(groups.map((g) => JSON.stringify(g.dimensions))).size).toBe(groups.length);
    },
  );
});
