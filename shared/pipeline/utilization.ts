/**
 * Derived utilization, published by the scheduled poll-status function. OCI documents no MQL name
 * for a dedicated AI cluster's Utilization metric (oci-facts C: NOT FOUND), so dacflow derives one
 * from the token metrics it does document: (InputTokenCount + OutputTokenCount) per second over the
 * last complete minute, divided by unitCount x tokensPerSecondPerUnit, posted as a custom metric
 * that the Terraform utilization alarms query (`dacflow_autoscaling` / `DerivedUtilization` /
 * `resourceId` by default: terraform/variables.tf `utilization_metric_*`).
 *
 * postMetricData is not retried by the SDK by default (oci-facts C), but dacflow's clients carry
 * the SDK's default retry configuration at client level, which takes precedence over the
 * operation's "no retry" (oci-common GenericRetrier.createPreferredRetrier). That is kept on
 * purpose: a retried post can at worst store the same value twice in one minute, which leaves the
 * alarms' `mean()` unchanged.
 */
import { GenerativeAiClient } from 'oci-generativeai';
import { MonitoringClient } from 'oci-monitoring';
import { getConfig, loadWorkflows } from '#shared/config.ts';
import * as clients from '#shared/oci/clients.ts';
import { errorMessage } from '#shared/errors.ts';
import type { Logger } from '#shared/log.ts';
import type { Workflow } from '#workflows/schema.ts';
import { classifyOciError } from './errors.ts';

export type MetricsPort = Pick<MonitoringClient, 'summarizeMetricsData' | 'postMetricData'>;
export type ClusterReadPort = Pick<
  GenerativeAiClient,
  'getDedicatedAiCluster' | 'listDedicatedAiClusters'
>;

export interface UtilizationDeps {
  monitoring: MetricsPort;
  genai: ClusterReadPort;
  /** Where the GenAI metrics live and where the derived metric is posted (unless a workflow names one). */
  compartmentId: string;
  now(): Date;
  log: Logger;
}

/** The metric names; every default is configurable because OCI documents none of them for DACs. */
export interface UtilizationOptions {
  /** Default `oci_generativeai`. */
  sourceNamespace?: string;
  /** Default `InputTokenCount` and `OutputTokenCount` (documented custom-query names). */
  inputMetric?: string;
  outputMetric?: string;
  /** Dimension of the GenAI metrics holding the cluster OCID: NOT FOUND; `resourceId`. */
  sourceDimension?: string;
  /** Must equal Terraform's `utilization_metric_namespace` (default `dacflow_autoscaling`). */
  targetNamespace?: string;
  /** Must equal Terraform's `utilization_metric_name` (default `DerivedUtilization`). */
  targetMetric?: string;
  /** Must equal Terraform's `utilization_dimension_name` (default `resourceId`). */
  targetDimension?: string;
  /** Minutes looked back for the latest complete minute (default 5). */
  lookbackMin?: number;
  /**
   * Length of a Monitoring minute in ms (60,000 on OCI; the local emulator shrinks it). When
   * unset it is read from the spacing of the returned one-minute windows, else 60,000.
   */
  metricMinuteMs?: number;
}

export const derivedUtilizationDefaults: Readonly<
  Required<Omit<UtilizationOptions, 'metricMinuteMs'>>
> = Object.freeze({
  sourceNamespace: 'oci_generativeai',
  inputMetric: 'InputTokenCount',
  outputMetric: 'OutputTokenCount',
  sourceDimension: 'resourceId',
  targetNamespace: 'dacflow_autoscaling',
  targetMetric: 'DerivedUtilization',
  targetDimension: 'resourceId',
  lookbackMin: 5,
});

type ResolvedOptions = Required<Omit<UtilizationOptions, 'metricMinuteMs'>> &
  Pick<UtilizationOptions, 'metricMinuteMs'>;

/** One cluster's derived value (also returned so poll-status can log it). */
export interface DerivedUtilization {
  clusterId: string;
  workflow: string;
  unitCount: number;
  tokensPerSecond: number;
  utilizationPct: number;
}

export interface UtilizationSummary {
  clusters: number;
  posted: number;
  /** Clusters with no token datapoints in the lookback: nothing posted (no data is not 0%). */
  noData: number;
  skipped: number;
  failed: number;
  values: DerivedUtilization[];
}

const ocidPattern = /^ocid1\./;
const maxStreamsPerPost = 50; // PostMetricData: at most 50 unique streams per call

/**
 * Derives and posts utilization for every cluster a workflow manages with
 * `autoscaling.utilization.source: derived`. Never throws for one cluster's failure: it is
 * counted and logged, and the next tick tries again.
 */
export async function publishDerivedUtilization(
  deps: UtilizationDeps,
  workflows: readonly Workflow[],
  options: UtilizationOptions = {},
): Promise<UtilizationSummary> {
  const o: ResolvedOptions = { ...derivedUtilizationDefaults, ...options };
  const summary: UtilizationSummary = {
    clusters: 0,
    posted: 0,
    noData: 0,
    skipped: 0,
    failed: 0,
    values: [],
  };
  const seen = new Set<string>();
  const posts: { compartmentId: string; value: DerivedUtilization }[] = [];
  for (const w of workflows) {
    const a = w.autoscaling;
    if (!a || a.utilization.source !== 'derived' || !w.genai) continue;
    const compartmentId = w.genai.compartmentId ?? deps.compartmentId;
    for (const ref of w.genai.hostingClusters) {
      summary.clusters++;
      try {
        const cluster = await readCluster(deps, ref, compartmentId);
        if (!cluster) {
          summary.skipped++;
          deps.log.warn('hosting cluster not found for derived utilization', {
            workflow: w.name,
            cluster: ref,
          });
          continue;
        }
        if (seen.has(cluster.id)) {
          summary.skipped++;
          continue; // a cluster shared by workflows: the first one's tokensPerSecondPerUnit wins
        }
        seen.add(cluster.id);
        if (cluster.lifecycleState !== 'ACTIVE' && cluster.lifecycleState !== 'UPDATING') {
          summary.skipped++;
          continue;
        }
        const tokens = await tokensPerSecond(deps, o, compartmentId, cluster.id);
        if (tokens === undefined) {
          summary.noData++;
          continue;
        }
        const pct = (100 * tokens) / (cluster.unitCount * a.tokensPerSecondPerUnit);
        posts.push({
          compartmentId,
          value: {
            clusterId: cluster.id,
            workflow: w.name,
            unitCount: cluster.unitCount,
            tokensPerSecond: round(tokens, 3),
            utilizationPct: round(pct, 3),
          },
        });
      } catch (err) {
        summary.failed++;
        deps.log.warn('derived utilization failed; retried next tick', {
          workflow: w.name,
          cluster: ref,
          error: errorMessage(err),
        });
      }
    }
  }
  const timestamp = deps.now();
  for (let i = 0; i < posts.length; i += maxStreamsPerPost) {
    const batch = posts.slice(i, i + maxStreamsPerPost);
    try {
      const res = await deps.monitoring.postMetricData({
        postMetricDataDetails: {
          batchAtomicity: 'NON_ATOMIC' as never,
          metricData: batch.map((p) => ({
            namespace: o.targetNamespace,
            compartmentId: p.compartmentId,
            name: o.targetMetric,
            dimensions: { [o.targetDimension]: p.value.clusterId },
            metadata: { unit: 'percent' },
            datapoints: [{ timestamp, value: p.value.utilizationPct }],
          })),
        },
      });
      const failedCount = res.postMetricDataResponseDetails.failedMetricsCount;
      summary.failed += failedCount;
      summary.posted += batch.length - failedCount;
      const failedIds = new Set(
        (res.postMetricDataResponseDetails.failedMetrics ?? []).map(
          (f) => f.metricData.dimensions[o.targetDimension],
        ),
      );
      for (const p of batch) if (!failedIds.has(p.value.clusterId)) summary.values.push(p.value);
      if (failedCount > 0) {
        deps.log.warn('some derived utilization datapoints were rejected', {
          failed: failedCount,
          messages: (res.postMetricDataResponseDetails.failedMetrics ?? [])
            .slice(0, 3)
            .map((f) => f.message.slice(0, 200)),
        });
      }
    } catch (err) {
      const f = classifyOciError(err);
      summary.failed += batch.length;
      deps.log.warn('postMetricData failed; retried next tick', {
        status: f.status,
        code: f.code,
        clusters: batch.length,
      });
    }
  }
  deps.log.info('derived utilization published', {
    clusters: summary.clusters,
    posted: summary.posted,
    noData: summary.noData,
    skipped: summary.skipped,
    failed: summary.failed,
  });
  return summary;
}

interface ClusterFacts {
  id: string;
  unitCount: number;
  lifecycleState: string;
}

async function readCluster(
  deps: UtilizationDeps,
  ref: string,
  compartmentId: string,
): Promise<ClusterFacts | undefined> {
  if (ocidPattern.test(ref)) {
    try {
      const c = (await deps.genai.getDedicatedAiCluster({ dedicatedAiClusterId: ref }))
        .dedicatedAiCluster;
      return { id: c.id, unitCount: c.unitCount, lifecycleState: c.lifecycleState };
    } catch (err) {
      if (classifyOciError(err).kind === 'NOT_FOUND') return undefined;
      throw err;
    }
  }
  const list = await deps.genai.listDedicatedAiClusters({ compartmentId, displayName: ref });
  const c = list.dedicatedAiClusterCollection.items.find(
    (i) => i.displayName === ref && i.lifecycleState !== 'DELETED' && i.type === 'HOSTING',
  );
  return c && { id: c.id, unitCount: c.unitCount, lifecycleState: c.lifecycleState };
}

/** Tokens/s over the latest complete minute, or undefined when neither metric has data. */
async function tokensPerSecond(
  deps: UtilizationDeps,
  o: ResolvedOptions,
  compartmentId: string,
  clusterId: string,
): Promise<number | undefined> {
  const nowMs = deps.now().getTime();
  const startTime = new Date(nowMs - o.lookbackMin * (o.metricMinuteMs ?? 60_000));
  const endTime = new Date(nowMs);
  const latest = async (metric: string) => {
    const res = await deps.monitoring.summarizeMetricsData({
      compartmentId,
      summarizeMetricsDataDetails: {
        namespace: o.sourceNamespace,
        query: `${metric}[1m]{${o.sourceDimension} = "${clusterId}"}.sum()`,
        startTime,
        endTime,
        resolution: '1m',
      },
    });
    const points = res.items.flatMap((item) =>
      item.aggregatedDatapoints.map((p) => ({ t: new Date(p.timestamp).getTime(), v: p.value })),
    );
    const minuteMs = o.metricMinuteMs ?? windowSpacingMs(points) ?? 60_000;
    let best: { t: number; v: number } | undefined;
    for (const p of points) {
      // Only complete minutes: a window still filling would read low.
      if (p.t + minuteMs > nowMs) continue;
      if (!best || p.t > best.t) best = { t: p.t, v: 0 };
      if (p.t === best.t) best.v += p.v;
    }
    return best;
  };
  const [input, output] = await Promise.all([latest(o.inputMetric), latest(o.outputMetric)]);
  if (!input && !output) return undefined;
  // Use the newer minute; a metric with no point in that minute had no tokens in it.
  const t = Math.max(input?.t ?? -Infinity, output?.t ?? -Infinity);
  const tokens = (input?.t === t ? input.v : 0) + (output?.t === t ? output.v : 0);
  return tokens / 60;
}

/** The smallest gap between distinct window timestamps: the query's one-minute resolution. */
function windowSpacingMs(points: readonly { t: number }[]): number | undefined {
  const ts = [...new Set(points.map((p) => p.t))].sort((a, b) => a - b);
  let min: number | undefined;
  for (let i = 1; i < ts.length; i++) {
    const gap = ts[i]! - ts[i - 1]!;
    if (min === undefined || gap < min) min = gap;
  }
  return min;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * Builds the ports from the function's configuration and publishes: the one call poll-status
 * needs. PostMetricData must go to the `telemetry-ingestion` endpoint while queries use
 * `telemetry` (MonitoringClient doc), so two clients are built; with DACFLOW_OCI_ENDPOINT (the
 * local emulator) both use that one URL.
 */
export async function publishDerivedUtilizationFromEnv(
  log: Logger,
  options: UtilizationOptions = {},
): Promise<UtilizationSummary> {
  // Static imports: this module is only loaded with the handler, on a function's first call; a
  // dynamic import() of a CommonJS SDK package inside a split bundle can lose its named exports.
  const config = getConfig();
  const query = clients.getClient(MonitoringClient);
  ingestion ??= (() => {
    const c = clients.createClient(MonitoringClient);
    c.endpoint = query.endpoint
      .replace(/\/20180401$/, '')
      .replace('://telemetry.', '://telemetry-ingestion.');
    return c;
  })();
  const ingest = ingestion;
  return publishDerivedUtilization(
    {
      monitoring: {
        summarizeMetricsData: (r) => query.summarizeMetricsData(r),
        postMetricData: (r) => ingest.postMetricData(r),
      },
      genai: clients.getClient(GenerativeAiClient),
      compartmentId: config.compartmentId,
      now: () => new Date(),
      log,
    },
    loadWorkflows(config),
    options,
  );
}

let ingestion: MonitoringClient | undefined;
