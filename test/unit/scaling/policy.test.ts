import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  ScalingRule,
  scalingRules,
  type AlarmMessageType,
  type AlarmSignal,
} from '#shared/scaling/alarm.ts';
import { ScalingPolicyError } from '#shared/scaling/errors.ts';
import {
  decideScaling,
  defaultScalingPolicy,
  effectiveMaxUnits,
  initialScalingState,
  isScaleUpRule,
  validateScalingPolicy,
  type ClusterScalingState,
  type ScalingPolicy,
} from '#shared/scaling/policy.ts';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const MIN = 60_000;
let seq = 0;

function signal(
  rule: ScalingRule,
  type: AlarmMessageType,
  value: number | undefined,
  atMs: number,
): AlarmSignal {
  seq++;
  return {
    dedupeId: `k-${seq}@${atMs}`,
    type,
    rule,
    clusterId: 'c1',
    timestampMs: atMs,
    severity: 'CRITICAL',
    notificationType: 'GROUPED',
    alarmIds: ['a'],
    metricValues: value === undefined ? [] : [value],
  };
}

const active = (unitCount: number) => ({ unitCount, lifecycleState: 'ACTIVE' });
const P = { ...defaultScalingPolicy };

function decide(
  rule: ScalingRule,
  value: number | undefined,
  units: number,
  opts: {
    state?: ClusterScalingState;
    atMs?: number;
    type?: AlarmMessageType;
    policy?: ScalingPolicy;
    lifecycle?: string;
  } = {},
) {
  const atMs = opts.atMs ?? T0;
  return decideScaling(
    opts.state ?? initialScalingState('c1'),
    signal(rule, opts.type ?? 'OK_TO_FIRING', value, atMs),
    { unitCount: units, lifecycleState: opts.lifecycle ?? 'ACTIVE' },
    opts.policy ?? P,
    new Date(atMs),
  );
}

describe('decideScaling', () => {
  it('scales up in proportion to P99 over the threshold', () => {
    const d = decide(ScalingRule.LatencyP99High, 7500, 10);
    expect(d).toMatchObject({ decision: 'SCALE_UP', targetUnits: 15 });
    expect(d.nextState.inFlight).toEqual({ targetUnits: 15, sinceMs: T0 });
    expect(d.nextState.lastAction).toMatchObject({
      decision: 'SCALE_UP',
      fromUnits: 10,
      toUnits: 15,
    });
  });

  it('bounds a scale-up by maxStepUnits, maxUnits and the monthly cost cap', () => {
    expect(decide(ScalingRule.LatencyP99High, 60_000, 10).targetUnits).toBe(20);
    expect(decide(ScalingRule.LatencyP99High, 60_000, 45).targetUnits).toBe(50);
    const capped = { ...P, maxMonthlyCostUsd: 18_000 };
    expect(effectiveMaxUnits(capped)).toBe(12);
    expect(decide(ScalingRule.LatencyP99High, 60_000, 10, { policy: capped }).targetUnits).toBe(12);
    expect(decide(ScalingRule.LatencyP99High, 60_000, 12, { policy: capped }).decision).toBe(
      'NONE',
    );
  });

  it('scales up on high utilization toward the target', () => {
    expect(decide(ScalingRule.UtilizationHigh, 95, 20)).toMatchObject({
      decision: 'SCALE_UP',
      targetUnits: 23,
    });
    // Always at least one unit, even when the value is barely over.
    expect(decide(ScalingRule.UtilizationHigh, 84.1, 10).targetUnits).toBe(11);
    expect(decide(ScalingRule.UtilizationHigh, undefined, 10).targetUnits).toBe(11);
  });

  it('scales down on low utilization toward the target, never below minUnits', () => {
    expect(decide(ScalingRule.UtilizationLow, 21, 20)).toMatchObject({
      decision: 'SCALE_DOWN',
      targetUnits: 10,
    });
    expect(decide(ScalingRule.UtilizationLow, 1, 20).targetUnits).toBe(10); // maxStepUnits
    const min5 = { ...P, minUnits: 5 };
    expect(decide(ScalingRule.UtilizationLow, 10, 8, { policy: min5 }).targetUnits).toBe(5);
    expect(decide(ScalingRule.UtilizationLow, 10, 5, { policy: min5 }).decision).toBe('NONE');
    expect(decide(ScalingRule.UtilizationLow, undefined, 8).decision).toBe('NONE');
  });

  it('takes one unit off on sustained low utilization, only if it lands at the target or under', () => {
    expect(decide(ScalingRule.UtilizationSustainedLow, 70, 10)).toMatchObject({
      decision: 'SCALE_DOWN',
      targetUnits: 9,
    });
    // 10 units at 79% would be 87.8% on 9: over the target, so nothing.
    const held = decide(ScalingRule.UtilizationSustainedLow, 79, 10);
    expect(held.decision).toBe('NONE');
    expect(held.reason).toMatch(/no scale-down keeps utilization/);
    // A stale value at or over the threshold does nothing.
    expect(decide(ScalingRule.UtilizationSustainedLow, 80, 10).decision).toBe('NONE');
  });

  it('waits a sustained window after the last action before the next one-unit step', () => {
    const first = decide(ScalingRule.UtilizationSustainedLow, 60, 10);
    const state = first.nextState;
    const early = decide(ScalingRule.UtilizationSustainedLow, 60, 9, {
      state,
      atMs: T0 + (P.sustainedLowWindowMin - 1) * MIN,
      type: 'REPEAT',
    });
    expect(early.decision).toBe('NONE');
    const later = decide(ScalingRule.UtilizationSustainedLow, 60, 9, {
      state,
      atMs: T0 + P.scaleDownCooldownSec * 1000,
      type: 'REPEAT',
    });
    expect(later).toMatchObject({ decision: 'SCALE_DOWN', targetUnits: 8 });
  });

  it('never scales down while a scale-up rule fires', () => {
    const up = decide(ScalingRule.LatencyP99High, 6000, 10, { lifecycle: 'UPDATING' });
    expect(up.decision).toBe('NONE');
    expect(up.nextState.firingRules['latency-p99-high']).toBe(T0);
    const down = decide(ScalingRule.UtilizationLow, 10, 10, {
      state: up.nextState,
      atMs: T0 + MIN,
    });
    expect(down.decision).toBe('NONE');
    expect(down.reason).toMatch(/latency-p99-high is firing/);
    const okd = decide(ScalingRule.LatencyP99High, 3000, 10, {
      state: down.nextState,
      atMs: T0 + 2 * MIN,
      type: 'FIRING_TO_OK',
    });
    expect(okd.decision).toBe('NONE');
    expect(okd.reason).toMatch(/recorded/);
    expect(
      decide(ScalingRule.UtilizationLow, 10, 10, { state: okd.nextState, atMs: T0 + 3 * MIN })
        .decision,
    ).toBe('SCALE_DOWN');
  });

  it('forgets a scale-up alarm whose FIRING_TO_OK was lost, after two missed repeats', () => {
    const repeatMs = defaultScalingPolicy.alarmRepeatMin * MIN;
    const up = decide(ScalingRule.LatencyP99High, 6000, 10, { lifecycle: 'UPDATING' });
    expect(up.nextState.firingRules['latency-p99-high']).toBe(T0);
    // Still within two repeat intervals: the alarm may still be firing.
    const early = decide(ScalingRule.UtilizationLow, 10, 10, {
      state: up.nextState,
      atMs: T0 + 2 * repeatMs,
    });
    expect(early.decision).toBe('NONE');
    expect(early.reason).toMatch(/latency-p99-high is firing/);
    // No REPEAT for longer than two intervals: the FIRING_TO_OK was lost, scale-down may proceed.
    const late = decide(ScalingRule.UtilizationLow, 10, 10, {
      state: up.nextState,
      atMs: T0 + 2 * repeatMs + MIN,
    });
    expect(late.nextState.firingRules['latency-p99-high']).toBeUndefined();
    expect(late.decision).toBe('SCALE_DOWN');
  });

  it('lets a scale-up override the scale-down cooldown but not its own', () => {
    const down = decide(ScalingRule.UtilizationLow, 20, 10);
    expect(down.decision).toBe('SCALE_DOWN');
    const up = decide(ScalingRule.LatencyP99High, 9000, 3, {
      state: down.nextState,
      atMs: T0 + MIN,
    });
    expect(up.decision).toBe('SCALE_UP');
    const again = decide(ScalingRule.LatencyP99High, 9000, up.targetUnits, {
      state: up.nextState,
      atMs: T0 + 2 * MIN,
      type: 'REPEAT',
    });
    expect(again).toMatchObject({ decision: 'NONE', reason: 'scale-up cooldown' });
    const afterCooldown = decide(ScalingRule.LatencyP99High, 9000, up.targetUnits, {
      state: up.nextState,
      atMs: T0 + MIN + P.scaleUpCooldownSec * 1000,
      type: 'REPEAT',
    });
    expect(afterCooldown.decision).toBe('SCALE_UP');
    // A scale-down right after a scale-up waits out the down cooldown, even once latency is OK.
    const ok = decide(ScalingRule.LatencyP99High, 1000, up.targetUnits, {
      state: up.nextState,
      atMs: T0 + 2 * MIN,
      type: 'FIRING_TO_OK',
    });
    expect(
      decide(ScalingRule.UtilizationLow, 10, up.targetUnits, {
        state: ok.nextState,
        atMs: T0 + 3 * MIN,
      }).reason,
    ).toBe('scale-down cooldown');
  });

  it('waits while the cluster is UPDATING or an update is in flight', () => {
    const d = decide(ScalingRule.LatencyP99High, 9000, 10, { lifecycle: 'UPDATING' });
    expect(d).toMatchObject({ decision: 'NONE', targetUnits: 10 });
    expect(d.reason).toBe('cluster is UPDATING: wait for next REPEAT');
    const up = decide(ScalingRule.LatencyP99High, 9000, 10);
    // The cluster still shows the old count: the update has not landed.
    const stillOld = decide(ScalingRule.UtilizationHigh, 99, 10, {
      state: up.nextState,
      atMs: T0 + 10 * MIN,
    });
    expect(stillOld.reason).toMatch(/in flight/);
    // After inFlightTimeoutSec an update that never showed no longer blocks.
    const expired = decide(ScalingRule.UtilizationHigh, 99, 10, {
      state: up.nextState,
      atMs: T0 + P.inFlightTimeoutSec * 1000,
    });
    expect(expired.decision).toBe('SCALE_UP');
    const landed = decide(ScalingRule.UtilizationHigh, 99, 18, {
      state: up.nextState,
      atMs: T0 + 10 * MIN,
    });
    expect(landed.nextState.inFlight).toEqual({ targetUnits: 22, sinceMs: T0 + 10 * MIN });
  });

  it('never scales on RESET and clears the firing rule', () => {
    const fired = decide(ScalingRule.LatencyP99High, 9000, 10, { lifecycle: 'UPDATING' });
    const reset = decide(ScalingRule.LatencyP99High, undefined, 10, {
      state: fired.nextState,
      atMs: T0 + 13 * MIN,
      type: 'RESET',
    });
    expect(reset.decision).toBe('NONE');
    expect(reset.reason).toMatch(/missing/);
    expect(reset.nextState.firingRules).toEqual({});
    expect(decide(ScalingRule.UtilizationLow, 5, 10, { type: 'RESET' }).decision).toBe('NONE');
  });

  it('treats a redelivered message as a no-op', () => {
    const s = signal(ScalingRule.LatencyP99High, 'OK_TO_FIRING', 9000, T0);
    const first = decideScaling(initialScalingState('c1'), s, active(10), P, new Date(T0));
    expect(first.decision).toBe('SCALE_UP');
    const dup = decideScaling(first.nextState, s, active(15), P, new Date(T0 + MIN));
    expect(dup).toMatchObject({ decision: 'NONE', reason: 'duplicate alarm message' });
    expect(dup.nextState).toBe(first.nextState);
  });

  it('caps actions per hour', () => {
    const policy = { ...P, maxActionsPerHour: 2, scaleUpCooldownSec: 0 };
    let state = initialScalingState('c1');
    let units = 5;
    const decisions: string[] = [];
    for (let i = 0; i < 4; i++) {
      const d = decide(ScalingRule.UtilizationHigh, 99, units, {
        state,
        atMs: T0 + i * MIN,
        policy,
        type: 'REPEAT',
      });
      decisions.push(d.decision);
      state = d.nextState;
      units = d.targetUnits;
    }
    expect(decisions).toEqual(['SCALE_UP', 'SCALE_UP', 'NONE', 'NONE']);
    expect(
      decide(ScalingRule.UtilizationHigh, 99, units, { state, atMs: T0 + 61 * MIN, policy })
        .decision,
    ).toBe('SCALE_UP');
  });
});

describe('validateScalingPolicy', () => {
  it('accepts the defaults', () => {
    expect(validateScalingPolicy({ ...defaultScalingPolicy })).toEqual({ ...defaultScalingPolicy });
  });
  it('names each contradiction', () => {
    const bad = () =>
      validateScalingPolicy({ ...P, minUnits: 9, maxUnits: 3, targetUtilizationPct: 87, bogus: 1 });
    expect(bad).toThrow(ScalingPolicyError);
    expect(bad).toThrow(/minUnits must not exceed maxUnits/);
    expect(bad).toThrow(/targetUtilizationPct \+ hysteresisPct/);
    expect(bad).toThrow(/bogus/);
    expect(() => validateScalingPolicy({ ...P, minUnits: 4, maxMonthlyCostUsd: 3000 })).toThrow(
      /cannot pay for minUnits/,
    );
  });
});

// ---- properties ------------------------------------------------------------------------------

const policyArb = fc
  .record({
    minUnits: fc.integer({ min: 1, max: 5 }),
    span: fc.integer({ min: 0, max: 40 }),
    maxStepUnits: fc.integer({ min: 1, max: 12 }),
    scaleUpCooldownSec: fc.integer({ min: 0, max: 900 }),
    scaleDownCooldownSec: fc.integer({ min: 0, max: 1800 }),
    maxActionsPerHour: fc.integer({ min: 1, max: 10 }),
    costUnits: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
  })
  .map(({ minUnits, span, costUnits, ...rest }): ScalingPolicy => ({
    ...P,
    ...rest,
    minUnits,
    maxUnits: minUnits + span,
    maxMonthlyCostUsd:
      costUnits === undefined ? undefined : (minUnits + costUnits) * P.unitCostUsdPerMonth + 700,
  }));

const eventArb = fc.record({
  rule: fc.constantFrom(...scalingRules),
  type: fc.constantFrom<AlarmMessageType>(
    'OK_TO_FIRING',
    'REPEAT',
    'REPEAT',
    'FIRING_TO_OK',
    'RESET',
  ),
  value: fc.option(
    fc.oneof(
      fc.double({ min: 0, max: 100, noNaN: true }), // utilization-like
      fc.double({ min: 0, max: 70_000, noNaN: true }), // latency-like
    ),
    { nil: undefined },
  ),
  gapSec: fc.integer({ min: 0, max: 900 }),
  updating: fc.boolean(),
  landImmediately: fc.boolean(),
});

type Event = typeof eventArb extends fc.Arbitrary<infer E> ? E : never;

interface Run {
  policy: ScalingPolicy;
  actions: { atMs: number; decision: string; from: number; to: number; firingUpBefore: boolean }[];
  startUnits: number;
}

function run(policy: ScalingPolicy, startOffset: number, events: Event[]): Run {
  const max = effectiveMaxUnits(policy);
  const startUnits = Math.min(max, policy.minUnits + (startOffset % (max - policy.minUnits + 1)));
  let units = startUnits;
  let state = initialScalingState('c1');
  let t = T0;
  const actions: Run['actions'] = [];
  for (const e of events) {
    t += e.gapSec * 1000;
    const before = state;
    const d = decideScaling(
      state,
      signal(e.rule, e.type, e.value, t),
      { unitCount: units, lifecycleState: e.updating ? 'UPDATING' : 'ACTIVE' },
      policy,
      new Date(t),
    );
    state = d.nextState;
    if (d.decision !== 'NONE') {
      // Firing = seen firing within two repeat intervals (older entries are lost FIRING_TO_OKs).
      const staleMs = 2 * policy.alarmRepeatMin * 60_000;
      const firingUpBefore = Object.entries(before.firingRules).some(
        ([r, seenMs]) => isScaleUpRule(r as ScalingRule) && t - (seenMs as number) <= staleMs,
      );
      actions.push({
        atMs: t,
        decision: d.decision,
        from: units,
        to: d.targetUnits,
        firingUpBefore,
      });
      if (e.landImmediately) units = d.targetUnits;
    } else {
      expect(d.targetUnits).toBe(units);
    }
  }
  return { policy, actions, startUnits };
}

describe('decideScaling properties', () => {
  const runArb = fc.tuple(policyArb, fc.nat(), fc.array(eventArb, { maxLength: 80 }));

  it('the generated runs exercise both directions (so the properties below test something)', () => {
    const runs = fc.sample(runArb, { seed: 1, numRuns: 200 }).map(([p, o, e]) => run(p, o, e));
    const kinds = runs.flatMap((r) => r.actions.map((a) => a.decision));
    expect(kinds.filter((k) => k === 'SCALE_UP').length).toBeGreaterThan(30);
    expect(kinds.filter((k) => k === 'SCALE_DOWN').length).toBeGreaterThan(30);
  });

  fcTest.prop([runArb])(
    'never targets outside [minUnits, effective max]; the cost cap holds',
    ([policy, off, events]) => {
      const r = run(policy, off, events);
      const max = effectiveMaxUnits(policy);
      for (const a of r.actions) {
        expect(a.to).toBeGreaterThanOrEqual(policy.minUnits);
        expect(a.to).toBeLessThanOrEqual(max);
        expect(a.to).toBeLessThanOrEqual(policy.maxUnits);
        if (policy.maxMonthlyCostUsd !== undefined) {
          expect(a.to * policy.unitCostUsdPerMonth).toBeLessThanOrEqual(policy.maxMonthlyCostUsd);
        }
        expect(Math.abs(a.to - a.from)).toBeLessThanOrEqual(policy.maxStepUnits);
        expect(a.to).not.toBe(a.from);
        expect(a.decision === 'SCALE_UP').toBe(a.to > a.from);
      }
    },
  );

  fcTest.prop([runArb])('never two actions inside a cooldown', ([policy, off, events]) => {
    const { actions } = run(policy, off, events);
    for (let i = 0; i < actions.length; i++) {
      for (let j = 0; j < i; j++) {
        const gapMs = actions[i]!.atMs - actions[j]!.atMs;
        if (actions[i]!.decision === 'SCALE_DOWN') {
          expect(gapMs).toBeGreaterThanOrEqual(policy.scaleDownCooldownSec * 1000);
        } else if (actions[j]!.decision === 'SCALE_UP') {
          expect(gapMs).toBeGreaterThanOrEqual(policy.scaleUpCooldownSec * 1000);
        }
      }
    }
  });

  fcTest.prop([runArb])('at most maxActionsPerHour in any hour', ([policy, off, events]) => {
    const { actions } = run(policy, off, events);
    for (const a of actions) {
      const inHour = actions.filter((b) => b.atMs <= a.atMs && a.atMs - b.atMs < 3_600_000);
      expect(inHour.length).toBeLessThanOrEqual(policy.maxActionsPerHour);
    }
  });

  fcTest.prop([runArb])(
    'never scales down while a scale-up rule is firing',
    ([policy, off, events]) => {
      for (const a of run(policy, off, events).actions) {
        if (a.decision === 'SCALE_DOWN') expect(a.firingUpBefore).toBe(false);
      }
    },
  );

  // The same observation seen by every alarm whose condition it meets, delivered in any order.
  fcTest.prop([
    policyArb,
    fc.nat(),
    fc.double({ min: 0, max: 100, noNaN: true }),
    fc.double({ min: 0, max: 70_000, noNaN: true }),
    fc.boolean(),
  ])(
    'one observation never yields both a scale-up and a scale-down',
    (policy, off, util, p99, reverse) => {
      const max = effectiveMaxUnits(policy);
      const units = Math.min(max, policy.minUnits + (off % (max - policy.minUnits + 1)));
      const rules: [ScalingRule, number][] = [];
      if (p99 > policy.latencyP99ThresholdMs) rules.push([ScalingRule.LatencyP99High, p99]);
      if (util > policy.highUtilizationPct) rules.push([ScalingRule.UtilizationHigh, util]);
      if (util < policy.lowUtilizationPct) rules.push([ScalingRule.UtilizationLow, util]);
      if (util < policy.sustainedLowUtilizationPct)
        rules.push([ScalingRule.UtilizationSustainedLow, util]);
      if (reverse) rules.reverse();
      let state = initialScalingState('c1');
      const kinds = new Set<string>();
      for (const [rule, value] of rules) {
        const d = decideScaling(
          state,
          signal(rule, 'OK_TO_FIRING', value, T0),
          active(units),
          policy,
          new Date(T0),
        );
        state = d.nextState;
        if (d.decision !== 'NONE') kinds.add(d.decision);
      }
      expect(kinds.size).toBeLessThanOrEqual(1);
    },
  );
});
