import { describe, expect, it } from 'vitest';
import { backoffDelayMs, casUpdate, defaultRetryPolicy } from '#shared/state/cas.ts';
import { ContentionError, NotFoundError } from '#shared/state/errors.ts';
import { MemoryStore } from '#shared/state/memory.ts';
import { RunRepository, runKeys, runRecordShape } from '#shared/state/runs.ts';
import { newRun, seeded } from './state-contract.ts';

const noSleep = { random: seeded(1), sleep: async () => {} };

describe('casUpdate', () => {
  it('gives up with ContentionError after maxAttempts lost races, sleeping between them', async () => {
    const store = new MemoryStore({ fault: (op) => (op === 'replace' ? 'conflict' : undefined) });
    await store.create('k', { n: 0 });
    const sleeps: number[] = [];
    const err = await casUpdate<{ n: number }>(store, 'k', (d) => ({ n: d.n + 1 }), {
      random: () => 0.999,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      policy: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 50 },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContentionError);
    expect(err).toMatchObject({ context: { attempts: 5 } });
    expect(sleeps).toEqual([9, 19, 39, 49]);
    expect((await store.read('k'))?.doc).toEqual({ n: 0 });
  });

  it('creates from `initial` only when the change changes something', async () => {
    const store = new MemoryStore();
    const unchanged = await casUpdate<{ n: number }>(store, 'k', () => undefined, noSleep, {
      initial: () => ({ n: 0 }),
    });
    expect(unchanged.changed).toBe(false);
    expect(await store.read('k')).toBeUndefined();
    const created = await casUpdate<{ n: number }>(store, 'k', (d) => ({ n: d.n + 1 }), noSleep, {
      initial: () => ({ n: 0 }),
    });
    expect(created).toMatchObject({ changed: true, doc: { n: 1 } });
  });

  it('is NotFound without `initial`', async () => {
    await expect(casUpdate(new MemoryStore(), 'k', (d) => d, noSleep)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('backoff is full jitter under an exponentially growing, capped ceiling', () => {
    const p = defaultRetryPolicy;
    expect(backoffDelayMs(1, p, () => 0.5)).toBe(10);
    expect(backoffDelayMs(3, p, () => 0.5)).toBe(40);
    expect(backoffDelayMs(30, p, () => 0.999)).toBeLessThan(p.maxDelayMs);
    expect(backoffDelayMs(30, p, () => 0)).toBe(0);
  });
});

describe('RunRepository edge cases', () => {
  const deps = { cas: noSleep, nowMs: () => 0 };

  it('a run created terminal gets no active marker', async () => {
    const store = new MemoryStore();
    const repo = new RunRepository(store, runRecordShape, deps);
    const run = { ...newRun('d/x.jsonl', 'e'), state: 'CANCELLED' as const };
    await repo.createIfAbsent(run);
    expect(store.keys().filter((k) => k.startsWith(runKeys.activePrefix))).toEqual([]);
  });

  it('lists every run id, terminal ones included', async () => {
    const store = new MemoryStore();
    const repo = new RunRepository(store, runRecordShape, deps);
    const a = newRun('d/ids-a.jsonl', 'e');
    const b = { ...newRun('d/ids-b.jsonl', 'e'), state: 'CANCELLED' as const };
    await repo.createIfAbsent(a);
    await repo.createIfAbsent(b);
    const ids: string[] = [];
    for await (const id of repo.runIds()) ids.push(id);
    expect(ids.sort()).toEqual([a.runId, b.runId].sort());
  });

  it('rejects a change that swaps the run id', async () => {
    const store = new MemoryStore();
    const repo = new RunRepository(store, runRecordShape, deps);
    const a = newRun('d/a.jsonl', 'e');
    await repo.createIfAbsent(a);
    await expect(
      repo.update(a.runId, (r) => ({ ...r, runId: 'r99999999999999999999' })),
    ).rejects.toBeInstanceOf(TypeError);
  });

  it('a stale-marker cleanup that races a reopen puts the marker back', async () => {
    const store = new MemoryStore();
    const repo = new RunRepository(store, runRecordShape, deps);
    const a = newRun('d/reopen.jsonl', 'e');
    await repo.createIfAbsent(a);
    await repo.update(a.runId, (r) => ({ ...r, state: 'CANCELLED' }));
    // A stale marker (crash before delete), then the run is reopened while the scan runs.
    await store.create(runKeys.active(a.runId), { runId: a.runId, createdAtMs: 0 });
    const originalDelete = store.delete.bind(store);
    store.delete = async (key, etag) => {
      const removed = await originalDelete(key, etag);
      const rec = await store.read<{ state: string }>(runKeys.record(a.runId));
      if (rec)
        await store.replace(runKeys.record(a.runId), { ...rec.doc, state: 'TRAINING' }, rec.etag);
      store.delete = originalDelete;
      return removed;
    };
    await repo.scanActive();
    expect(await store.read(runKeys.active(a.runId))).toBeDefined();
    expect((await repo.scanActive()).runs.map((r) => r.runId)).toEqual([a.runId]);
  });
});
