import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultScalingPolicy } from '#shared/scaling/policy.ts';
import { alarmRulesFor, simulate, type TraceRow } from '#shared/scaling/simulate.ts';
import {
  dailyCycleTraces,
  formatTraceCsv,
  generateTrace,
  parseTraceCsv,
  shippedTraces,
} from '#shared/scaling/trace.ts';

const traceFile = (name: string) => new URL(`../../../bench/traces/${name}.csv`, import.meta.url);

describe('shipped traces', () => {
  // UPDATE_TRACES=1 rewrites the CSVs from the seeded generator (then commit them).
  it.each(shippedTraces)('%s.csv is exactly the seeded generator output', (name) => {
    const expected = formatTraceCsv(generateTrace(name));
    if (process.env.UPDATE_TRACES === '1') writeFileSync(traceFile(name), expected);
    const text = readFileSync(traceFile(name), 'utf8');
    expect(text).toBe(expected);
    expect(text.length).toBeLessThan(150_000);
  });
});

describe('default policy meets its targets on every shipped trace', () => {
  it.each(shippedTraces)('%s', (name) => {
    const trace = parseTraceCsv(readFileSync(traceFile(name), 'utf8'));
    const r = simulate(trace, { policy: defaultScalingPolicy });
    expect(r.policy.unitHours).toBeLessThanOrEqual(1.2 * r.oracle.unitHours);
    if (dailyCycleTraces.has(name)) {
      expect(r.policy.unitHours).toBeLessThanOrEqual(0.7 * r.staticPeak.unitHours);
    }
    expect(r.policy.sloViolationMinutes).toBeLessThanOrEqual(0.01 * r.minutes);
    expect(r.policy.actions).toBeLessThan(r.naive.actions);
    // The baselines behave as defined: the static and oracle clusters never break the SLO.
    expect(r.staticPeak.sloViolationMinutes).toBe(0);
    expect(r.oracle.sloViolationMinutes).toBe(0);
    expect(r.oracle.unitHours).toBeLessThanOrEqual(r.staticPeak.unitHours);
  });
});

describe('simulate', () => {
  const flat = (tps: number, minutes: number): TraceRow[] =>
    Array.from({ length: minutes }, (_, minute) => ({ minute, tokensPerSecond: tps }));

  it('is deterministic', () => {
    const trace = generateTrace('sudden-spike', 7);
    expect(simulate(trace, { policy: defaultScalingPolicy })).toEqual(
      simulate(trace, { policy: defaultScalingPolicy }),
    );
  });

  it('applies a decision only after the update delay', () => {
    // 10 units carrying 14,000 tokens/s (93%): the high rule fires after its 2-minute pending.
    const trace = flat(14_000, 60);
    const r = simulate(trace, {
      policy: defaultScalingPolicy,
      initialUnits: 10,
      updateDelayMin: 10,
    });
    const first = r.actionLog[0]!;
    expect(first).toMatchObject({ decision: 'SCALE_UP', fromUnits: 10, rule: 'utilization-high' });
    expect(first.minute).toBe(1); // minutes 0 and 1 over the line
    // Billing counts the bigger size from the request on; capacity arrives 10 minutes later.
    expect(r.policy.unitHours).toBeCloseTo((2 * 10 + 58 * first.toUnits) / 60, 2);
  });

  it('scales a saturated cluster up by at most maxStepUnits per action', () => {
    const r = simulate(flat(60_000, 120), { policy: defaultScalingPolicy, initialUnits: 5 });
    for (const a of r.actionLog) {
      expect(Math.abs(a.toUnits - a.fromUnits)).toBeLessThanOrEqual(
        defaultScalingPolicy.maxStepUnits,
      );
    }
    expect(r.actionLog[0]).toMatchObject({ rule: 'latency-p99-high', toUnits: 15 });
    expect(r.policy.sloViolationMinutes).toBeGreaterThan(10); // the delay makes some unavoidable
  });

  it('never goes over the monthly cost cap', () => {
    const policy = { ...defaultScalingPolicy, maxMonthlyCostUsd: 12 * 1500 };
    const r = simulate(flat(60_000, 120), { policy, initialUnits: 5 });
    expect(r.policy.peakUnits).toBe(12);
  });

  it('derives the alarms from the policy', () => {
    const rules = alarmRulesFor(defaultScalingPolicy);
    expect(rules.map((r) => [r.rule, r.threshold])).toEqual([
      ['latency-p99-high', 5000],
      ['utilization-high', 88],
      ['utilization-low', 30],
      ['utilization-sustained-low', 80],
    ]);
    expect(rules.find((r) => r.rule === 'utilization-sustained-low')!.pendingMin).toBe(
      defaultScalingPolicy.sustainedLowWindowMin,
    );
  });
});
