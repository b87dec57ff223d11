import { describe, expect, it } from 'vitest';
import { FaultInjector } from '#local/emulator/faults.ts';

const run = (seed: number, ops: string[]) => {
  const f = new FaultInjector(seed, { rate: 0.4, latencyMs: 50, postCommitRate: 0.5 });
  return ops.map((op) => f.decide(op));
};

describe('FaultInjector', () => {
  it('gives the same sequence for the same seed', () => {
    const ops = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? 'PutObject' : 'GetObject'));
    expect(run(7, ops)).toEqual(run(7, ops));
  });

  it('gives a different sequence for another seed', () => {
    const ops = Array.from({ length: 200 }, () => 'PutObject');
    expect(run(7, ops)).not.toEqual(run(8, ops));
  });

  it('keeps each operation sequence independent of how operations interleave', () => {
    const a = new FaultInjector(3, { rate: 0.5 });
    const b = new FaultInjector(3, { rate: 0.5 });
    const onlyPut = Array.from({ length: 50 }, () => a.decide('PutObject'));
    const mixed: ReturnType<FaultInjector['decide']>[] = [];
    for (let i = 0; i < 50; i++) {
      b.decide('GetObject');
      mixed.push(b.decide('PutObject'));
    }
    expect(mixed).toEqual(onlyPut);
  });

  it('injects roughly at the configured rate, all four kinds, postCommit only on 5xx', () => {
    const f = new FaultInjector(11, { rate: 0.3, postCommitRate: 1 });
    const decisions = Array.from({ length: 4000 }, () => f.decide('Op'));
    const faults = decisions.filter((d) => d.kind);
    expect(faults.length / decisions.length).toBeGreaterThan(0.25);
    expect(faults.length / decisions.length).toBeLessThan(0.35);
    expect(new Set(faults.map((d) => d.kind))).toEqual(new Set(['429', '500', '503', '409']));
    for (const d of faults) expect(d.postCommit).toBe(d.kind === '500' || d.kind === '503');
    expect(f.injected).toHaveLength(faults.length);
  });

  it('restricts to the named operations and kinds', () => {
    const f = new FaultInjector(1, { rate: 1, operations: ['PutObject'], kinds: ['429'] });
    expect(f.decide('GetObject').kind).toBeUndefined();
    expect(f.decide('PutObject').kind).toBe('429');
  });

  it('is off without options and after set(undefined)', () => {
    const f = new FaultInjector(1, { rate: 1 });
    expect(f.decide('X').kind).toBeDefined();
    f.set(undefined);
    expect(f.decide('X').kind).toBeUndefined();
    expect(new FaultInjector(1).deliveryCopies('t')).toBe(1);
  });

  it('drops and duplicates deliveries reproducibly', () => {
    const copies = (seed: number) => {
      const f = new FaultInjector(seed, { rate: 0, dropEvents: 0.2, duplicateEvents: 0.3 });
      return Array.from({ length: 500 }, () => f.deliveryCopies('rule1'));
    };
    const a = copies(5);
    expect(a).toEqual(copies(5));
    expect(a.filter((c) => c === 0).length).toBeGreaterThan(60);
    expect(a.filter((c) => c === 2).length).toBeGreaterThan(60);
  });
});
