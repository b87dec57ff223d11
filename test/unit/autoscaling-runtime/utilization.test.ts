import { describe, expect, it } from 'vitest';
import { silentLogger } from '#shared/log.ts';
import {
  publishDerivedUtilization,
  type MetricsPort,
  type UtilizationDeps,
} from '#shared/pipeline/utilization.ts';
import { CLUSTER, CLUSTER_NAME, FakeGenAi, workflows } from './fakes.ts';

const NOW = Date.parse('2026-11-21T12:00:30.000Z');
const MIN = 60_000;

interface Posted {
  namespace: string;
  name: string;
  compartmentId: string;
  dimensions: Record<string, string>;
  datapoints: { timestamp: Date; value: number }[];
}

/** Answers summarizeMetricsData from a table of per-minute sums and records postMetricData. */
class FakeMonitoring {
  queries: string[] = [];
  posted: Posted[] = [];
  failPost: Error | undefined;
  reject = new Set<string>();
  constructor(private readonly sums: Record<string, [number, number][]>) {}

  port(): MetricsPort {
    return this as unknown as MetricsPort;
  }

  async summarizeMetricsData(r: {
    summarizeMetricsDataDetails: { query: string; namespace: string };
  }) {
    this.queries.push(
      `${r.summarizeMetricsDataDetails.namespace}:${r.summarizeMetricsDataDetails.query}`,
    );
    const metric = r.summarizeMetricsDataDetails.query.split('[')[0]!;
    const points = (this.sums[metric] ?? []).map(([t, value]) => ({
      timestamp: new Date(t),
      value,
    }));
    return { items: points.length ? [{ name: metric, aggregatedDatapoints: points }] : [] };
  }

  async postMetricData(r: { postMetricDataDetails: { metricData: Posted[] } }) {
    if (this.failPost) throw this.failPost;
    const failed = r.postMetricDataDetails.metricData.filter((m) =>
      this.reject.has(m.dimensions.resourceId!),
    );
    this.posted.push(...r.postMetricDataDetails.metricData.filter((m) => !failed.includes(m)));
    return {
      postMetricDataResponseDetails: {
        failedMetricsCount: failed.length,
        failedMetrics: failed.map((metricData) => ({ message: 'rejected', metricData })),
      },
    };
  }
}

function deps(mon: FakeMonitoring, genai = new FakeGenAi()): UtilizationDeps {
  return {
    monitoring: mon.port(),
    genai: genai as never,
    compartmentId: 'ocid1.compartment.oc1..c',
    now: () => new Date(NOW),
    log: silentLogger,
  };
}

const wfs = (cluster = CLUSTER_NAME, extra = '') =>
  workflows(cluster, `autoscaling:\n  minUnits: 1\n  maxUnits: 8\n${extra}`);

describe('publishDerivedUtilization', () => {
  it('divides the last complete minute of input+output tokens/s by units x tokens/s per unit', async () => {
    // The current minute (12:00) is still filling and must be ignored.
    const minute = Date.parse('2026-11-21T11:59:00.000Z');
    const mon = new FakeMonitoring({
      InputTokenCount: [
        [minute - MIN, 1],
        [minute, 60 * 900],
        [minute + MIN, 5],
      ],
      OutputTokenCount: [[minute, 60 * 900]],
    });
    const s = await publishDerivedUtilization(deps(mon), wfs());
    // 1,800 tokens/s over 2 units x 1,500 tokens/s = 60%.
    expect(s).toMatchObject({ clusters: 1, posted: 1, failed: 0, noData: 0 });
    expect(s.values).toEqual([
      {
        clusterId: CLUSTER,
        workflow: 'bot',
        unitCount: 2,
        tokensPerSecond: 1800,
        utilizationPct: 60,
      },
    ]);
    expect(mon.posted).toEqual([
      {
        namespace: 'dacflow_autoscaling',
        compartmentId: 'ocid1.compartment.oc1..c',
        name: 'DerivedUtilization',
        dimensions: { resourceId: CLUSTER },
        metadata: { unit: 'percent' },
        datapoints: [{ timestamp: new Date(NOW), value: 60 }],
      },
    ]);
    expect(mon.queries).toEqual([
      `oci_generativeai:InputTokenCount[1m]{resourceId = "${CLUSTER}"}.sum()`,
      `oci_generativeai:OutputTokenCount[1m]{resourceId = "${CLUSTER}"}.sum()`,
    ]);
  });

  it('posts nothing for a cluster without token data (no data is not 0%)', async () => {
    const mon = new FakeMonitoring({});
    const s = await publishDerivedUtilization(deps(mon), wfs(CLUSTER));
    expect(s).toMatchObject({ clusters: 1, posted: 0, noData: 1 });
    expect(mon.posted).toEqual([]);
  });

  it('honours metric-name options and skips workflows with a native utilization metric', async () => {
    const minute = Date.parse('2026-11-21T11:59:00.000Z');
    const mon = new FakeMonitoring({ In: [[minute, 60 * 300]] });
    const s = await publishDerivedUtilization(deps(mon), wfs(), {
      inputMetric: 'In',
      outputMetric: 'Out',
      sourceDimension: 'clusterId',
      targetNamespace: 'my_ns',
      targetMetric: 'Util',
      targetDimension: 'cluster',
    });
    expect(s.values[0]?.utilizationPct).toBe(10);
    expect(mon.posted[0]).toMatchObject({
      namespace: 'my_ns',
      name: 'Util',
      dimensions: { cluster: CLUSTER },
    });
    expect(mon.queries[0]).toContain('In[1m]{clusterId = ');

    const native = new FakeMonitoring({ In: [[minute, 1]] });
    const none = await publishDerivedUtilization(
      deps(native),
      wfs(CLUSTER, '  utilization:\n    source: metric\n    metric: GpuUtilization\n'),
    );
    expect(none.clusters).toBe(0);
    expect(native.queries).toEqual([]);
  });

  it('counts rejected datapoints and a failed post without throwing', async () => {
    const minute = Date.parse('2026-11-21T11:59:00.000Z');
    const mon = new FakeMonitoring({ InputTokenCount: [[minute, 6000]] });
    mon.reject.add(CLUSTER);
    expect(await publishDerivedUtilization(deps(mon), wfs())).toMatchObject({
      posted: 0,
      failed: 1,
      values: [],
    });
    const down = new FakeMonitoring({ InputTokenCount: [[minute, 6000]] });
    down.failPost = Object.assign(new Error('boom'), {
      statusCode: 503,
      serviceCode: 'InternalServerError',
    });
    expect(await publishDerivedUtilization(deps(down), wfs())).toMatchObject({
      posted: 0,
      failed: 1,
    });
  });

  it('skips clusters that are not found or not serving', async () => {
    const mon = new FakeMonitoring({ InputTokenCount: [[NOW - 2 * MIN, 6000]] });
    const missing = await publishDerivedUtilization(deps(mon), wfs('no-such-cluster'));
    expect(missing).toMatchObject({ skipped: 1, posted: 0 });
    const g = new FakeGenAi();
    g.cluster.lifecycleState = 'NEEDS_ATTENTION';
    expect(await publishDerivedUtilization(deps(mon, g), wfs())).toMatchObject({
      skipped: 1,
      posted: 0,
    });
  });
});

describe('the Monitoring minute', () => {
  it('is read from the spacing of the returned windows when not configured', async () => {
    // A compressed minute of 500 ms (the local emulator): windows 500 ms apart.
    const mon = new FakeMonitoring({
      InputTokenCount: [
        [NOW - 1700, 60 * 100],
        [NOW - 1200, 60 * 200],
        [NOW - 700, 60 * 300],
        [NOW - 200, 60 * 999], // still filling: ignored
      ],
    });
    const s = await publishDerivedUtilization(deps(mon), wfs());
    expect(s.values[0]?.tokensPerSecond).toBe(300);
  });
});
