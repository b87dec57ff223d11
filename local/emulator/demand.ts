/**
 * Synthetic inference demand for the local emulator: each emulated Monitoring minute, every ACTIVE
 * (or UPDATING) HOSTING cluster of the GenAI service gets `oci_generativeai` metrics from a demand
 * profile: input and output token counts for the minute, and a P99 latency from the same M/M/c
 * model the simulator uses (shared/scaling/capacity.ts), at the units the cluster is serving.
 *
 * OCI does not document these metric or dimension names for dedicated AI clusters (oci-facts C:
 * InputTokenCount/OutputTokenCount/InvocationLatency come from a custom-query table; the dimension
 * and the latency unit are NOT FOUND), so every name is an option; the defaults are the names
 * dacflow's Terraform alarms use by default.
 */
import {
  defaultCapacityModel,
  p99LatencyMs,
  utilizationPct,
  type CapacityModel,
} from '#shared/scaling/capacity.ts';
import type { GenAiEmulatorService } from './genai.ts';
import type { MetricInput, MonitoringService } from './monitoring.ts';

/** Demand in tokens/s for the n-th emulated minute since the generator started (0-based). */
export type DemandProfile = (minute: number, clusterId: string) => number;

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

export interface DemandOptions {
  monitoring: MonitoringService;
  genai: GenAiEmulatorService;
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

/** One cluster's emitted minute, for the demo's table. */
export interface DemandMinute {
  minute: number;
  clusterId: string;
  tokensPerSecond: number;
  servingUnits: number;
  lifecycleState: string;
  utilizationPct: number;
  p99LatencyMs: number;
}

export interface DemandHandle {
  stop(): void;
  /** Every emitted minute so far, in order. */
  history(): DemandMinute[];
}

/**
 * Starts emitting at the monitoring service's next minute. While a cluster is UPDATING the
 * emulator already reports the new unit count, but the old size is what serves (as during a real
 * update), so the generator keeps the last ACTIVE count until the cluster is ACTIVE again.
 */
export function startDemand(options: DemandOptions): DemandHandle {
  const namespace = options.namespace ?? 'oci_generativeai';
  const inputMetric = options.inputMetric ?? 'InputTokenCount';
  const outputMetric = options.outputMetric ?? 'OutputTokenCount';
  const latencyMetric = options.latencyMetric ?? 'InvocationLatency';
  const dimension = options.resourceDimension ?? 'resourceId';
  const inputShare = options.inputShare ?? 0.5;
  const model: CapacityModel = { ...defaultCapacityModel, ...options.capacity };
  const serving = new Map<string, number>();
  const history: DemandMinute[] = [];
  let first: number | undefined;

  const stop = options.monitoring.control.onMinute(({ startMs, index }) => {
    first ??= index;
    const minute = index - first;
    const metrics: MetricInput[] = [];
    for (const c of options.genai.control.clusterUnits()) {
      if (c.type !== 'HOSTING') continue;
      if (options.clusterIds && !options.clusterIds.includes(c.id)) continue;
      if (c.lifecycleState === 'ACTIVE') serving.set(c.id, c.unitCount);
      else if (c.lifecycleState !== 'UPDATING') continue;
      const units = serving.get(c.id) ?? c.unitCount;
      const tps = Math.max(0, options.profile(minute, c.id));
      const p99 = p99LatencyMs(tps, units, model);
      const tokens = tps * 60;
      // The datapoint sits in the middle of the minute it describes.
      const at = startMs + Math.floor(options.monitoring.control.minuteMs / 2);
      const dims = { [dimension]: c.id };
      const point = (value: number) => [{ timestampMs: at, value }];
      metrics.push(
        {
          namespace,
          compartmentId: options.compartmentId,
          name: inputMetric,
          dimensions: dims,
          datapoints: point(Math.round(tokens * inputShare)),
        },
        {
          namespace,
          compartmentId: options.compartmentId,
          name: outputMetric,
          dimensions: dims,
          datapoints: point(Math.round(tokens * (1 - inputShare))),
        },
        {
          namespace,
          compartmentId: options.compartmentId,
          name: latencyMetric,
          dimensions: dims,
          datapoints: point(options.latencyUnit === 's' ? p99 / 1000 : p99),
        },
      );
      history.push({
        minute,
        clusterId: c.id,
        tokensPerSecond: tps,
        servingUnits: units,
        lifecycleState: c.lifecycleState,
        utilizationPct: utilizationPct(tps, units, model),
        p99LatencyMs: p99,
      });
    }
    if (metrics.length > 0) options.monitoring.control.ingest(metrics);
  });
  return { stop: () => void stop(), history: () => [...history] };
}
