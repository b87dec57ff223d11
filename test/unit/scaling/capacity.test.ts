import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  defaultCapacityModel as M,
  erlangC,
  p99LatencyMs,
  unitsForLatency,
  utilizationPct,
} from '#shared/scaling/capacity.ts';

describe('capacity model', () => {
  it('computes Erlang C against known values', () => {
    expect(erlangC(1, 0.5)).toBeCloseTo(0.5, 12); // M/M/1: P(wait) = rho
    expect(erlangC(2, 1)).toBeCloseTo(1 / 3, 12);
    expect(erlangC(10, 8)).toBeCloseTo(0.409, 3); // textbook table value
    expect(erlangC(5, 5)).toBe(1);
    expect(erlangC(500, 450)).toBeGreaterThan(0);
    expect(erlangC(500, 450)).toBeLessThan(1);
  });

  it('gives the service-time P99 with no queue: ln(100) / 3 s', () => {
    expect(p99LatencyMs(0, 5)).toBeCloseTo((Math.log(100) / 3) * 1000, 6);
    expect(p99LatencyMs(10, 50)).toBeCloseTo((Math.log(100) / 3) * 1000, 0);
  });

  it('matches the M/M/1 closed form (sojourn time is Exp(mu - lambda))', () => {
    // 1 unit, 750 tokens/s: lambda 1.5/s, mu 3/s, P99 = ln(100) / 1.5 s.
    expect(p99LatencyMs(750, 1)).toBeCloseTo((Math.log(100) / 1.5) * 1000, 3);
  });

  it('saturates at capacity', () => {
    expect(p99LatencyMs(15_000, 10)).toBe(M.saturatedP99Ms);
    expect(p99LatencyMs(1, 0)).toBe(M.saturatedP99Ms);
    expect(utilizationPct(30_000, 10, M)).toBe(100);
    expect(utilizationPct(7_500, 10, M)).toBe(50);
  });

  fcTest.prop([
    fc.integer({ min: 1, max: 60 }),
    fc.double({ min: 0, max: 0.999, noNaN: true }),
    fc.double({ min: 0, max: 0.999, noNaN: true }),
  ])('P99 grows with demand', (units, a, b) => {
    const cap = units * M.tokensPerSecondPerUnit;
    const [lo, hi] = a < b ? [a, b] : [b, a];
    expect(p99LatencyMs(lo * cap, units)).toBeLessThanOrEqual(p99LatencyMs(hi * cap, units) + 1e-6);
  });

  fcTest.prop([fc.integer({ min: 0, max: 90_000 })])(
    'unitsForLatency is the fewest units meeting the target',
    (tps) => {
      const u = unitsForLatency(tps, 5000);
      expect(p99LatencyMs(tps, u)).toBeLessThanOrEqual(5000);
      if (u > 1) expect(p99LatencyMs(tps, u - 1)).toBeGreaterThan(5000);
    },
  );
});
