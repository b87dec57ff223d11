import { AlarmMessageType, ScalingRule, buildAlarmMessage, parseAlarmMessage } from './alarm.ts';
import {
  HOURS_PER_MONTH,
  p99LatencyMs,
  unitsForLatency,
  utilizationPct,
  type CapacityModel,
} from './capacity.ts';
import { TraceError } from './errors.ts';
import {
  decideScaling,
  effectiveMaxUnits,
  initialScalingState,
  type ScalingPolicy,
} from './policy.ts';

/** One minute of demand. */
export interface TraceRow {
  minute: number;
  tokensPerSecond: number;
}

/** One alarm as dacflow creates it: the simulator evaluates exactly these. */
export interface AlarmRuleSpec {
  rule: ScalingRule;
  metric: 'p99LatencyMs' | 'utilizationPct';
  comparison: 'above' | 'below';
  threshold: number;
  /** The metric's aggregation interval in minutes: the alarm compares the mean over it. */
  intervalMin: number;
  /** Minutes the condition must hold before OK_TO_FIRING (OCI pendingDuration, PT1M-PT1H). */
  pendingMin: number;
  /** Minutes between REPEAT messages while firing (OCI repeatNotificationDuration). */
  repeatMin: number;
}

/**
 * The alarms dacflow creates for a policy. Terraform should use the same numbers: the simulator's
 * results hold only for alarms configured like this.
 */
export function alarmRulesFor(policy: ScalingPolicy): AlarmRuleSpec[] {
  const repeatMin = policy.alarmRepeatMin;
  return [
    {
      rule: ScalingRule.LatencyP99High,
      metric: 'p99LatencyMs',
      comparison: 'above',
      threshold: policy.latencyP99ThresholdMs,
      intervalMin: 1,
      pendingMin: 1,
      repeatMin,
    },
    {
      rule: ScalingRule.UtilizationHigh,
      metric: 'utilizationPct',
      comparison: 'above',
      threshold: policy.highUtilizationPct,
      intervalMin: 1,
      // Two minutes: one noisy minute over the line is not a trend (the latency rule has no delay).
      pendingMin: 2,
      repeatMin,
    },
    {
      rule: ScalingRule.UtilizationLow,
      metric: 'utilizationPct',
      comparison: 'below',
      threshold: policy.lowUtilizationPct,
      // Scale-down alarms average over 5 minutes so one quiet minute cannot trigger them.
      intervalMin: 5,
      pendingMin: 5,
      repeatMin,
    },
    {
      rule: ScalingRule.UtilizationSustainedLow,
      metric: 'utilizationPct',
      comparison: 'below',
      threshold: policy.sustainedLowUtilizationPct,
      intervalMin: 5,
      pendingMin: policy.sustainedLowWindowMin,
      repeatMin,
    },
  ];
}

export interface SimulationOptions {
  policy: ScalingPolicy;
  /** Minutes between asking for a new unit count and the units serving (default 10). */
  updateDelayMin?: number;
  /** Response size of the latency model (default 500 tokens, product notes). */
  tokensPerRequest?: number;
  /** Units at minute 0; default: what the first minute needs at the target utilization. */
  initialUnits?: number;
  /** Epoch ms of minute 0 of the trace (default 0); only shapes the synthetic alarm timestamps. */
  startMs?: number;
}

export interface StrategyResult {
  unitHours: number;
  costUsd: number;
  /** Minutes whose P99 latency was over the policy's latency threshold. */
  sloViolationMinutes: number;
  actions: number;
  peakUnits: number;
  meanUtilizationPct: number;
}

export interface SimulatedAction {
  minute: number;
  decision: 'SCALE_UP' | 'SCALE_DOWN';
  fromUnits: number;
  toUnits: number;
  rule: ScalingRule;
}

export interface SimulationResult {
  minutes: number;
  updateDelayMin: number;
  policy: StrategyResult;
  staticPeak: StrategyResult & { units: number };
  naive: StrategyResult;
  oracle: StrategyResult;
  ratios: {
    unitHoursVsOracle: number;
    unitHoursVsStaticPeak: number;
    sloViolationFraction: number;
    actionsVsNaive: number;
  };
  /** Every action the policy took, in order. */
  actionLog: SimulatedAction[];
}

/** Checks a trace: consecutive integer minutes and finite, non-negative demand. */
export function checkTrace(trace: readonly TraceRow[]): void {
  if (trace.length === 0) throw new TraceError('trace has no rows');
  const first = trace[0]!.minute;
  trace.forEach((row, i) => {
    if (row.minute !== first + i) {
      throw new TraceError(
        `minute ${row.minute} at row ${i + 1} breaks the one-row-per-minute sequence`,
        {
          row: i + 1,
        },
      );
    }
    if (!Number.isFinite(row.tokensPerSecond) || row.tokensPerSecond < 0) {
      throw new TraceError(`demand at row ${i + 1} is not a non-negative number`, { row: i + 1 });
    }
  });
}

function capacityFor(policy: ScalingPolicy, tokensPerRequest: number): CapacityModel {
  return {
    tokensPerSecondPerUnit: policy.tokensPerSecondPerUnit,
    tokensPerRequest,
    unitCostUsdPerMonth: policy.unitCostUsdPerMonth,
    saturatedP99Ms: 60_000,
  };
}

class Meter {
  private unitMinutes = 0;
  private utilSum = 0;
  violations = 0;
  actions = 0;
  private peak = 0;
  constructor(
    private readonly policy: ScalingPolicy,
    private readonly model: CapacityModel,
  ) {}
  /** `billedUnits` may exceed `servingUnits` during an update (both sizes are paid for). */
  minute(demand: number, servingUnits: number, billedUnits: number) {
    this.unitMinutes += billedUnits;
    this.peak = Math.max(this.peak, billedUnits);
    this.utilSum += utilizationPct(demand, servingUnits, this.model);
    if (p99LatencyMs(demand, servingUnits, this.model) > this.policy.latencyP99ThresholdMs)
      this.violations++;
  }
  result(minutes: number): StrategyResult {
    const unitHours = this.unitMinutes / 60;
    return {
      unitHours: round(unitHours, 2),
      costUsd: round((unitHours / HOURS_PER_MONTH) * this.policy.unitCostUsdPerMonth, 2),
      sloViolationMinutes: this.violations,
      actions: this.actions,
      peakUnits: this.peak,
      meanUtilizationPct: round(this.utilSum / minutes, 1),
    };
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** A cluster whose unit count changes `delay` minutes after it is asked to. */
interface SimCluster {
  units: number;
  pending: { target: number; readyAt: number } | null;
}

function advance(cluster: SimCluster, minute: number): void {
  if (cluster.pending && minute >= cluster.pending.readyAt) {
    cluster.units = cluster.pending.target;
    cluster.pending = null;
  }
}

/**
 * Replays a demand trace through the metric model, the alarms of `alarmRulesFor(policy)` and the
 * same `decideScaling` the function uses, then runs the baselines on the same trace: a static
 * cluster sized for the peak, a naive controller acting every minute on the raw thresholds (no
 * pending, cooldown, hysteresis or cap), and an oracle with the fewest units meeting the SLO each
 * minute and no delay. Deterministic: same input, same output.
 */
export function simulate(trace: readonly TraceRow[], options: SimulationOptions): SimulationResult {
  checkTrace(trace);
  const { policy } = options;
  const delay = options.updateDelayMin ?? 10;
  const model = capacityFor(policy, options.tokensPerRequest ?? 500);
  const startMs = options.startMs ?? 0;
  const maxUnits = effectiveMaxUnits(policy);
  const clamp = (u: number) => Math.min(maxUnits, Math.max(policy.minUnits, u));
  const firstDemand = trace[0]!.tokensPerSecond;
  const initialUnits = clamp(
    options.initialUnits ??
      Math.ceil(
        firstDemand / ((policy.tokensPerSecondPerUnit * policy.targetUtilizationPct) / 100),
      ),
  );
  const readyAfter = Math.max(1, delay);
  const minutes = trace.length;

  // --- the policy, through alarms -------------------------------------------------------------
  const rules = alarmRulesFor(policy);
  const alarmState = rules.map(() => ({ streak: 0, firing: false, lastNotified: 0 }));
  let state = initialScalingState('sim-cluster');
  const cluster: SimCluster = { units: initialUnits, pending: null };
  const meter = new Meter(policy, model);
  const actionLog: SimulatedAction[] = [];
  const history = { p99LatencyMs: [] as number[], utilizationPct: [] as number[] };
  for (let i = 0; i < minutes; i++) {
    advance(cluster, i);
    const demand = trace[i]!.tokensPerSecond;
    const billed = Math.max(cluster.units, cluster.pending?.target ?? 0);
    meter.minute(demand, cluster.units, billed);
    history.p99LatencyMs.push(p99LatencyMs(demand, cluster.units, model));
    history.utilizationPct.push(utilizationPct(demand, cluster.units, model));
    rules.forEach((spec, r) => {
      const a = alarmState[r]!;
      const series = history[spec.metric];
      const window = series.slice(-spec.intervalMin);
      const value = window.reduce((sum, v) => sum + v, 0) / window.length;
      const breached =
        spec.comparison === 'above' ? value > spec.threshold : value < spec.threshold;
      a.streak = breached ? a.streak + 1 : 0;
      let type: AlarmMessageType | undefined;
      if (!a.firing && a.streak >= spec.pendingMin) {
        a.firing = true;
        type = AlarmMessageType.OkToFiring;
      } else if (a.firing && !breached) {
        a.firing = false;
        type = AlarmMessageType.FiringToOk;
      } else if (a.firing && i - a.lastNotified >= spec.repeatMin) {
        type = AlarmMessageType.Repeat;
      }
      if (type === undefined) return;
      a.lastNotified = i;
      const timestampMs = startMs + (trace[i]!.minute - trace[0]!.minute) * 60_000;
      // Through the real parser: the policy sees exactly what the function would.
      const parsed = parseAlarmMessage(
        buildAlarmMessage({
          dedupeKey: `sim-${spec.rule}`,
          type,
          rule: spec.rule,
          clusterId: state.clusterId,
          alarmId: `sim-alarm-${spec.rule}`,
          timestampMs,
          query: `${spec.metric}[${spec.intervalMin}m].mean()`,
          metricValue: round(value, 3),
        }),
      );
      if (!parsed.ok) throw parsed.error; // a bug in buildAlarmMessage, not bad input
      const signal = parsed.signal;
      const view = {
        unitCount: cluster.units,
        lifecycleState: cluster.pending ? 'UPDATING' : 'ACTIVE',
      };
      const d = decideScaling(state, signal, view, policy, new Date(timestampMs));
      state = d.nextState;
      if (d.decision !== 'NONE') {
        actionLog.push({
          minute: i,
          decision: d.decision,
          fromUnits: cluster.units,
          toUnits: d.targetUnits,
          rule: spec.rule,
        });
        cluster.pending = { target: d.targetUnits, readyAt: i + readyAfter };
        meter.actions++;
      }
    });
  }
  const policyResult = meter.result(minutes);

  // --- static at the peak ----------------------------------------------------------------------
  const peakDemand = Math.max(...trace.map((r) => r.tokensPerSecond));
  const staticUnits = clamp(
    unitsForLatency(peakDemand, policy.latencyP99ThresholdMs, model, policy.minUnits),
  );
  const staticMeter = new Meter(policy, model);
  for (const row of trace) staticMeter.minute(row.tokensPerSecond, staticUnits, staticUnits);

  // --- naive: raw thresholds every minute, same update delay --------------------------------------
  const naiveMeter = new Meter(policy, model);
  const naive: SimCluster = { units: initialUnits, pending: null };
  for (let i = 0; i < minutes; i++) {
    advance(naive, i);
    const demand = trace[i]!.tokensPerSecond;
    naiveMeter.minute(demand, naive.units, Math.max(naive.units, naive.pending?.target ?? 0));
    if (naive.pending) continue; // an UPDATING cluster rejects another update
    const p99 = p99LatencyMs(demand, naive.units, model);
    const util = utilizationPct(demand, naive.units, model);
    let target = naive.units;
    if (p99 > policy.latencyP99ThresholdMs) {
      target = Math.ceil((naive.units * p99) / policy.latencyP99ThresholdMs);
    } else if (util > policy.highUtilizationPct || util < policy.lowUtilizationPct) {
      target = Math.ceil((naive.units * util) / policy.targetUtilizationPct);
    } else if (util < policy.sustainedLowUtilizationPct) {
      target = naive.units - 1; // the same one-unit step, without the window
    }
    target = clamp(
      Math.min(
        naive.units + policy.maxStepUnits,
        Math.max(naive.units - policy.maxStepUnits, target),
      ),
    );
    if (target !== naive.units) {
      naive.pending = { target, readyAt: i + readyAfter };
      naiveMeter.actions++;
    }
  }

  // --- oracle: fewest units meeting the SLO each minute, no delay ----------------------------------
  const oracleMeter = new Meter(policy, model);
  let oracleUnits = -1;
  for (const row of trace) {
    const u = clamp(
      unitsForLatency(row.tokensPerSecond, policy.latencyP99ThresholdMs, model, policy.minUnits),
    );
    if (oracleUnits !== -1 && u !== oracleUnits) oracleMeter.actions++;
    oracleUnits = u;
    oracleMeter.minute(row.tokensPerSecond, u, u);
  }

  const staticResult = { ...staticMeter.result(minutes), units: staticUnits };
  const naiveResult = naiveMeter.result(minutes);
  const oracleResult = oracleMeter.result(minutes);
  return {
    minutes,
    updateDelayMin: delay,
    policy: policyResult,
    staticPeak: staticResult,
    naive: naiveResult,
    oracle: oracleResult,
    ratios: {
      unitHoursVsOracle: round(policyResult.unitHours / oracleResult.unitHours, 3),
      unitHoursVsStaticPeak: round(policyResult.unitHours / staticResult.unitHours, 3),
      sloViolationFraction: round(policyResult.sloViolationMinutes / minutes, 5),
      actionsVsNaive:
        naiveResult.actions === 0 ? 0 : round(policyResult.actions / naiveResult.actions, 3),
    },
    actionLog,
  };
}
