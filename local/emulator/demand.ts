/**
 * Synthetic inference demand for the local emulator: each emulated Monitoring minute, every
 * serving resource gets metrics from a demand profile (tokens/s) and the M/M/c model the
 * simulator uses (shared/scaling/capacity.ts), at the units it is serving:
 *
 * - `startDemand`: every ACTIVE (or UPDATING) HOSTING cluster of the GenAI service gets
 *   `oci_generativeai` input and output token counts for the minute and a P99 latency. OCI does
 *   not document these metric or dimension names for dedicated AI clusters (oci-facts C:
 *   InputTokenCount/OutputTokenCount/InvocationLatency come from a custom-query table; the
 *   dimension and the latency unit are NOT FOUND), so every name is an option; the defaults are
 *   the names dacflow's Terraform alarms use by default.
 * - `startDeploymentDemand`: every ACTIVE (or UPDATING) Data Science model deployment gets the
 *   documented `oci_datascience_modeldeploy` metrics (data-science/using/metrics-model-deploy.htm):
 *   PredictRequestCount, PredictLatency (result = Success) and GPUCoreUtilization per instance.
 *
 * Both share one per-minute loop (`runDemand`): minute numbering, the "old size serves while
 * UPDATING" rule, the capacity model and the history rows.
 */
import {
  defaultCapacityModel,
  p99LatencyMs,
  utilizationPct,
  type CapacityModel,
} from '#shared/scaling/capacity.ts';
import type { DataScienceControl } from './datascience.ts';
import type { GenAiControl } from './genai.ts';
import type { MetricInput, MonitoringControl } from './monitoring.ts';

/**
 * Demand in tokens/s for the n-th emulated minute since the generator started (0-based), for one
 * resource (a hosting cluster's or a model deployment's OCID).
 */
export type DemandProfile = (minute: number, resourceId: string) => number;

/** A burst: `baseTps`, then `burstTps` for `burstMin` minutes from `startMin`, then `baseTps`. */
export function burstProfile(p: {
  baseTps: number;
  burstTps: number;
  startMin: number;
  burstMin: number;
}): DemandProfile {
  return (minute) =>
    minute >= p.startMin && minute < p.startMin + p.burstMin ? p.burstTps : p.baseTps;
}

/** Linear interpolation between `[minute, tokensPerSecond]` points; flat past the ends. */
export function pointsProfile(points: readonly (readonly [number, number])[]): DemandProfile {
  const sorted = [...points].sort((a, b) => a[0] - b[0]);
  return (minute) => {
    if (sorted.length === 0) return 0;
    if (minute <= sorted[0]![0]) return sorted[0]![1];
    for (let i = 1; i < sorted.length; i++) {
      const [m1, v1] = sorted[i]!;
      const [m0, v0] = sorted[i - 1]!;
      if (minute <= m1) return v0 + ((v1 - v0) * (minute - m0)) / (m1 - m0);
    }
    return sorted[sorted.length - 1]![1];
  };
}

/** The part of the Monitoring emulator the generators use (a fake will do in unit tests). */
export interface DemandMonitoring {
  readonly control: Pick<MonitoringControl, 'minuteMs' | 'onMinute' | 'ingest'>;
}

export interface DemandOptions {
  monitoring: DemandMonitoring;
  genai: { readonly control: Pick<GenAiControl, 'clusterUnits'> };
  profile: DemandProfile;
  /** Only these clusters get demand; every HOSTING cluster when omitted. */
  clusterIds?: readonly string[];
  compartmentId: string;
  /** Default `oci_generativeai` (generative-ai/create-query.htm). */
  namespace?: string;
  /** Defaults from the documented custom-query table (ja-jp metric-details.htm). */
  inputMetric?: string;
  outputMetric?: string;
  latencyMetric?: string;
  /** Dimension holding the cluster OCID: NOT FOUND in OCI docs; `resourceId` by default. */
  resourceDimension?: string;
  /** Unit of the latency metric: NOT FOUND in OCI docs; `ms` by default (Terraform's default). */
  latencyUnit?: 'ms' | 's';
  /** Share of the tokens that are input tokens (0.5 by default). */
  inputShare?: number;
  capacity?: Partial<CapacityModel>;
}

export interface DeploymentDemandOptions {
  monitoring: DemandMonitoring;
  datascience: { readonly control: Pick<DataScienceControl, 'deploymentUnits'> };
  profile: DemandProfile;
  /** Only these deployments get demand; every model deployment when omitted. */
  deploymentIds?: readonly string[];
  /**
   * Compartment of the metrics; each deployment's own compartment when omitted (OCI publishes a
   * service's metrics in the resource's compartment).
   */
  compartmentId?: string;
  /** Default `oci_datascience_modeldeploy` (data-science/using/metrics-model-deploy.htm). */
  namespace?: string;
  /** Requests in the minute (Count); `PredictRequestCount` by default. */
  requestCountMetric?: string;
  /** P99 latency in ms with `result` = `Success`; `PredictLatency` by default. */
  latencyMetric?: string;
  /** Per-instance utilization (Percentage); `GPUCoreUtilization` by default. */
  utilizationMetric?: string;
  /** Dimension holding the deployment OCID; `resourceId` by default. */
  resourceDimension?: string;
  /** Dimension of the latency metric's outcome (`Success` | `Failure`); `result` by default. */
  resultDimension?: string;
  /** Dimension of the per-instance metric; `instanceId` by default. */
  instanceDimension?: string;
  /** A unit is one instance: `tokensPerSecondPerUnit` is one instance's throughput. */
  capacity?: Partial<CapacityModel>;
}

/** What every emitted row says, whatever kind of resource served the minute. */
export interface DemandRow {
  minute: number;
  /** The OCID of the resource that served the minute (cluster or model deployment). */
  id: string;
  tokensPerSecond: number;
  /** Units (cluster units, or deployment instances) that served the minute. */
  servingUnits: number;
  lifecycleState: string;
  utilizationPct: number;
  p99LatencyMs: number;
}

/** One hosting cluster's emitted minute, for the demo's table. */
export interface DemandMinute extends DemandRow {
  /** The cluster's OCID (same as `id`). */
  clusterId: string;
}

/** One model deployment's emitted minute. */
export interface DeploymentDemandMinute extends DemandRow {
  /** The deployment's OCID (same as `id`). */
  deploymentId: string;
  /** The PredictRequestCount value emitted for the minute. */
  predictRequests: number;
}

export interface DemandHandle<R extends DemandRow = DemandMinute> {
  stop(): void;
  /** Every emitted minute so far, in order. */
  history(): R[];
}

/** A resource demand can be served to: its state and its configured size. */
interface Servable {
  id: string;
  lifecycleState: string;
  /** The configured size (the new one while UPDATING). */
  units: number;
}

/** One resource's minute as the shared loop computed it. */
interface Served extends DemandRow {
  /** Where the minute's datapoints go: the middle of the minute they describe. */
  atMs: number;
  model: CapacityModel;
}

/**
 * The loop both generators share. Starts at the monitoring service's next minute. While a
 * resource is UPDATING the emulators already report the new size, but the old size is what serves
 * (as during a real update), so the loop keeps the last ACTIVE size until it is ACTIVE again.
 */
function runDemand<T extends Servable, R extends DemandRow>(o: {
  monitoring: DemandMonitoring;
  profile: DemandProfile;
  ids: readonly string[] | undefined;
  capacity: Partial<CapacityModel> | undefined;
  resources(): readonly T[];
  metrics(resource: T, served: Served): MetricInput[];
  /** The history row: the loop's `row` plus what the resource kind adds. */
  row(resource: T, row: DemandRow, served: Served): R;
}): DemandHandle<R> {
  const model: CapacityModel = { ...defaultCapacityModel, ...o.capacity };
  const serving = new Map<string, number>();
  const history: R[] = [];
  let first: number | undefined;

  const stop = o.monitoring.control.onMinute(({ startMs, index }) => {
    first ??= index;
    const minute = index - first;
    const atMs = startMs + Math.floor(o.monitoring.control.minuteMs / 2);
    const metrics: MetricInput[] = [];
    for (const r of o.resources()) {
      if (o.ids && !o.ids.includes(r.id)) continue;
      if (r.lifecycleState === 'ACTIVE') serving.set(r.id, r.units);
      else if (r.lifecycleState !== 'UPDATING') continue;
      const units = serving.get(r.id) ?? r.units;
      const tps = Math.max(0, o.profile(minute, r.id));
      const row: DemandRow = {
        minute,
        id: r.id,
        tokensPerSecond: tps,
        servingUnits: units,
        lifecycleState: r.lifecycleState,
        utilizationPct: utilizationPct(tps, units, model),
        p99LatencyMs: p99LatencyMs(tps, units, model),
      };
      const served: Served = { ...row, atMs, model };
      metrics.push(...o.metrics(r, served));
      history.push(o.row(r, row, served));
    }
    if (metrics.length > 0) o.monitoring.control.ingest(metrics);
  });
  return { stop: () => void stop(), history: () => [...history] };
}

/** Input and output token counts and a P99 latency for every serving HOSTING cluster. */
export function startDemand(options: DemandOptions): DemandHandle {
  const namespace = options.namespace ?? 'oci_generativeai';
  const inputMetric = options.inputMetric ?? 'InputTokenCount';
  const outputMetric = options.outputMetric ?? 'OutputTokenCount';
  const latencyMetric = options.latencyMetric ?? 'InvocationLatency';
  const dimension = options.resourceDimension ?? 'resourceId';
  const inputShare = options.inputShare ?? 0.5;
  const compartmentId = options.compartmentId;
  return runDemand({
    monitoring: options.monitoring,
    profile: options.profile,
    ids: options.clusterIds,
    capacity: options.capacity,
    resources: () =>
      options.genai.control
        .clusterUnits()
        .filter((c) => c.type === 'HOSTING')
        .map((c) => ({ id: c.id, lifecycleState: c.lifecycleState, units: c.unitCount })),
    metrics: (c, s) => {
      const tokens = s.tokensPerSecond * 60;
      const metric = (name: string, value: number): MetricInput => ({
        namespace,
        compartmentId,
        name,
        dimensions: { [dimension]: c.id },
        datapoints: [{ timestampMs: s.atMs, value }],
      });
      return [
        metric(inputMetric, Math.round(tokens * inputShare)),
        metric(outputMetric, Math.round(tokens * (1 - inputShare))),
        metric(latencyMetric, options.latencyUnit === 's' ? s.p99LatencyMs / 1000 : s.p99LatencyMs),
      ];
    },
    row: (c, row) => ({ ...row, clusterId: c.id }),
  });
}

/**
 * The documented model deployment metrics for every serving Data Science model deployment: the
 * minute's predict requests (tokens/s x 60 / `tokensPerRequest`, rounded), the model's P99 as the
 * Success latency, and the utilization at the serving instance count on every instance (the load
 * balancer spreads requests evenly), each instance named `<deploymentId>-i<k>`, k = 0, 1, ...
 */
export function startDeploymentDemand(
  options: DeploymentDemandOptions,
): DemandHandle<DeploymentDemandMinute> {
  const namespace = options.namespace ?? 'oci_datascience_modeldeploy';
  const requestMetric = options.requestCountMetric ?? 'PredictRequestCount';
  const latencyMetric = options.latencyMetric ?? 'PredictLatency';
  const utilizationMetric = options.utilizationMetric ?? 'GPUCoreUtilization';
  const resourceDim = options.resourceDimension ?? 'resourceId';
  const resultDim = options.resultDimension ?? 'result';
  const instanceDim = options.instanceDimension ?? 'instanceId';
  const requestsOf = (s: Served) => Math.round((s.tokensPerSecond * 60) / s.model.tokensPerRequest);
  return runDemand({
    monitoring: options.monitoring,
    profile: options.profile,
    ids: options.deploymentIds,
    capacity: options.capacity,
    resources: () =>
      options.datascience.control.deploymentUnits().map((d) => ({ ...d, units: d.instanceCount })),
    metrics: (d, s) => {
      const metric = (
        name: string,
        dimensions: Record<string, string>,
        value: number,
      ): MetricInput => ({
        namespace,
        compartmentId: options.compartmentId ?? d.compartmentId,
        name,
        dimensions: { [resourceDim]: d.id, ...dimensions },
        datapoints: [{ timestampMs: s.atMs, value }],
      });
      return [
        metric(requestMetric, {}, requestsOf(s)),
        metric(latencyMetric, { [resultDim]: 'Success' }, s.p99LatencyMs),
        ...Array.from({ length: s.servingUnits }, (_, k) =>
          metric(utilizationMetric, { [instanceDim]: `${d.id}-i${k}` }, s.utilizationPct),
        ),
      ];
    },
    row: (d, row, s) => ({ ...row, deploymentId: d.id, predictRequests: requestsOf(s) }),
  });
}
