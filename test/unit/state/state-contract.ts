/**
 * One behavioural contract for every `DocumentStore` backend and the repositories on top of it.
 * `test/unit/state/memory.test.ts` runs it on the memory store; the integration test runs it on
 * the Object Storage store through the real ObjectStorageClient against the emulator with fault
 * injection on. Not a test file itself (no `.test.ts`): it only defines suites.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClusterRepository } from '#shared/state/clusters.ts';
import type { CasDeps } from '#shared/state/cas.ts';
import { AlreadyExistsError, ConflictError, NotFoundError } from '#shared/state/errors.ts';
import { RunRepository, runKeys, runRecordShape } from '#shared/state/runs.ts';
import { listAll, type DocumentStore } from '#shared/state/store.ts';
import { createRun, RunState, type Run } from '#workflows/machine.ts';

export interface ContractHarness {
  /** A store whose faults (if any) must be invisible to callers: store-level tests use it. */
  store: DocumentStore;
  /** The store the repositories run on: may inject visible faults (lost races, outages). */
  repoStore: DocumentStore;
  cas: CasDeps;
  /** Runs once the suite is done (e.g. checks that faults were really injected). */
  close(): Promise<void>;
}

/** A seeded PRNG (mulberry32) so backoff jitter is reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const t0 = Date.parse('2026-11-21T10:00:00.000Z');

export function newRun(object: string, etag: string, createdAtMs = t0): Run {
  return createRun(
    {
      workflow: 'support-bot',
      backend: 'genai',
      retireSuperseded: true,
      dataset: { namespace: 'ns', bucket: 'datasets', object, etag },
    },
    new Date(createdAtMs),
  ).run;
}

function withState(run: Run, state: RunState, note: string): Run {
  return {
    ...run,
    state,
    history: [
      ...run.history,
      { at: new Date(t0).toISOString(), from: run.state, to: state, observation: 'CANCEL', note },
    ],
  };
}

export interface ContractOptions {
  /** Run only the document-store part (a backend variant that repositories need not re-prove). */
  storeOnly?: boolean;
}

export function describeStateContract(
  name: string,
  setup: () => Promise<ContractHarness>,
  options: ContractOptions = {},
): void {
  describe(`state contract: ${name}`, () => {
    let h: ContractHarness;
    let clock = t0;
    const nowMs = () => clock;
    let uniq = 0;
    const k = (what: string) => `contract/${what}-${++uniq}`;

    beforeAll(async () => {
      h = await setup();
    });
    afterAll(async () => {
      await h?.close();
    });

    describe('document store', () => {
      it('creates once, then reports AlreadyExists', async () => {
        const key = k('create');
        const first = await h.store.create(key, { n: 1 });
        expect(first.etag).toEqual(expect.any(String));
        await expect(h.store.create(key, { n: 2 })).rejects.toBeInstanceOf(AlreadyExistsError);
        const got = await h.store.read<{ n: number }>(key);
        expect(got?.doc).toEqual({ n: 1 });
        expect(got?.etag).toBe(first.etag);
      });

      it('reads a missing key as undefined', async () => {
        expect(await h.store.read(k('missing'))).toBeUndefined();
      });

      it('replaces at the current etag and rejects a stale one', async () => {
        const key = k('replace');
        const created = await h.store.create(key, { n: 1 });
        const replaced = await h.store.replace(key, { n: 2 }, created.etag as string);
        expect(replaced.etag).toEqual(expect.any(String));
        expect(replaced.etag).not.toBe(created.etag);
        await expect(h.store.replace(key, { n: 3 }, created.etag as string)).rejects.toBeInstanceOf(
          ConflictError,
        );
        expect((await h.store.read(key))?.doc).toEqual({ n: 2 });
      });

      it('rejects replacing a missing document with NotFound', async () => {
        await expect(h.store.replace(k('gone'), { n: 1 }, 'no-such-etag')).rejects.toBeInstanceOf(
          NotFoundError,
        );
      });

      it('lists keys under a prefix in order, page by page', async () => {
        const prefix = `${k('list')}/`;
        const names = ['b', 'a', 'c', 'e', 'd'].map((n) => `${prefix}${n}`);
        for (const name of names) await h.store.create(name, { name });
        await h.store.create(`${prefix.slice(0, -1)}x/other`, {});
        const first = await h.store.list(prefix, { limit: 2 });
        expect(first.keys).toEqual([`${prefix}a`, `${prefix}b`]);
        expect(first.next).toBeDefined();
        const all: string[] = [];
        for await (const key of listAll(h.store, prefix, 2)) all.push(key);
        expect(all).toEqual([...names].sort());
      });

      it('deletes conditionally and idempotently', async () => {
        const key = k('delete');
        const v1 = await h.store.create(key, { n: 1 });
        const v2 = await h.store.replace(key, { n: 2 }, v1.etag as string);
        await expect(h.store.delete(key, v1.etag as string)).rejects.toBeInstanceOf(ConflictError);
        expect(await h.store.delete(key, v2.etag as string)).toBe(true);
        expect(await h.store.read(key)).toBeUndefined();
        expect(await h.store.delete(key)).toBe(false);
      });

      it('round-trips unicode documents byte-exactly', async () => {
        const key = k('unicode');
        const doc = { note: 'naïve – 日本語 – 🚀', n: [1, 2.5, null] };
        await h.store.create(key, doc);
        expect((await h.store.read(key))?.doc).toEqual(doc);
      });
    });

    describe.skipIf(options.storeOnly)('runs', () => {
      const repo = () => new RunRepository(h.repoStore, runRecordShape, { cas: h.cas, nowMs });

      it('10 concurrent createIfAbsent: exactly one creates, all see the same record', async () => {
        const run = newRun('datasets/race.jsonl', 'etag-race');
        const results = await Promise.all(
          Array.from({ length: 10 }, () => repo().createIfAbsent(run)),
        );
        expect(results.filter((r) => r.created)).toHaveLength(1);
        for (const r of results) expect(r.run).toEqual({ ...run, version: 1 });
        expect(await repo().get(run.runId)).toEqual({ ...run, version: 1 });
        expect((await repo().scanActive()).runs.map((r) => r.runId)).toContain(run.runId);
      });

      it('50 concurrent updaters each append one history entry: none is lost', async () => {
        const run = newRun('datasets/busy.jsonl', 'etag-busy');
        await repo().createIfAbsent(run);
        await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            repo().update(run.runId, (cur) => withState(cur, RunState.VALIDATING, `u${i}`)),
          ),
        );
        const final = await repo().get(run.runId);
        const notes = (final?.history ?? []).map((e) => e.note);
        expect(notes).toHaveLength(50);
        expect(new Set(notes).size).toBe(50);
        expect(final?.version).toBe(51);
        // Fifty writers on one object over a network are slow by nature (each lost race costs a
        // GET, a PUT and a re-read), and CPU-bound here: see docs/state.md for measured times.
      }, 180_000);

      it('a change that returns the same record writes nothing', async () => {
        const run = newRun('datasets/noop.jsonl', 'etag-noop');
        await repo().createIfAbsent(run);
        const after = await repo().update(run.runId, (cur) => cur);
        expect(after.version).toBe(1);
      });

      it('updating an unknown run is NotFound', async () => {
        await expect(repo().update('r00000000000000000000', (r) => r)).rejects.toBeInstanceOf(
          NotFoundError,
        );
      });

      it('keeps the active index: terminal runs leave it, stale markers are cleaned', async () => {
        const r = repo();
        const a = newRun('datasets/idx-a.jsonl', 'e1');
        const b = newRun('datasets/idx-b.jsonl', 'e1');
        await r.createIfAbsent(a);
        await r.createIfAbsent(b);
        await r.update(b.runId, (cur) => withState(cur, RunState.CANCELLED, 'done'));
        expect(await h.repoStore.read(runKeys.active(b.runId))).toBeUndefined();

        // Crash after the terminal write, before the marker delete: a stale marker.
        await h.repoStore.create(runKeys.active(b.runId), { runId: b.runId, createdAtMs: clock });
        // Crash after the marker, before the record: an orphan marker.
        const orphan = 'r0123456789abcdef0123';
        await h.repoStore.create(runKeys.active(orphan), { runId: orphan, createdAtMs: clock });

        const first = await r.scanActive();
        const ids = first.runs.map((x) => x.runId);
        expect(ids).toContain(a.runId);
        expect(ids).not.toContain(b.runId);
        expect(await h.repoStore.read(runKeys.active(b.runId))).toBeUndefined();
        // The orphan is young: it may be a create in progress, so it stays.
        expect(await h.repoStore.read(runKeys.active(orphan))).toBeDefined();

        clock += 3_600_000;
        await r.scanActive();
        expect(await h.repoStore.read(runKeys.active(orphan))).toBeUndefined();

        const byState = await r.listByState([RunState.RECEIVED]);
        expect(byState.map((x) => x.runId)).toContain(a.runId);
        const cancelled = await r.listByState([RunState.CANCELLED]);
        expect(cancelled.map((x) => x.runId)).toEqual(expect.arrayContaining([b.runId]));
      });

      it('a re-upload supersedes the older run; a late older event learns it is stale', async () => {
        const r = repo();
        const old = newRun('datasets/re.jsonl', 'etag-1', t0);
        const fresh = newRun('datasets/re.jsonl', 'etag-2', t0 + 60_000);
        expect((await r.createIfAbsent(old)).supersedes).toBeUndefined();
        const second = await r.createIfAbsent(fresh);
        expect(second.supersedes).toBe(old.runId);
        // Duplicate delivery of the new upload: same answer, no new record.
        const again = await r.createIfAbsent(fresh);
        expect(again.created).toBe(false);
        expect(again.supersedes).toBe(old.runId);
        // A late duplicate of the old upload.
        const late = await r.createIfAbsent(old);
        expect(late.created).toBe(false);
        expect(late.supersededBy).toBe(fresh.runId);
        expect((await r.latestFor(runRecordShape.datasetKey(fresh)))?.runId).toBe(fresh.runId);
      });
    });

    describe.skipIf(options.storeOnly)('clusters', () => {
      const repo = () => createClusterRepository(h.repoStore, h.cas);

      it('10 concurrent acquires: exactly one holds the lease; it expires by time', async () => {
        const id = `ocid1.generativeaidedicatedaicluster.oc1.test.${++uniq}`;
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            repo().acquire(id, { token: `call-${i}`, nowMs: t0, remainingMs: 30_000 }),
          ),
        );
        const winners = results.filter((r) => r.acquired);
        expect(winners).toHaveLength(1);
        const holder = winners[0]?.record.lease?.token as string;
        expect((await repo().get(id, t0 + 29_999))?.lease?.token).toBe(holder);
        expect((await repo().get(id, t0 + 30_000))?.lease).toBeNull();

        const late = await repo().acquire(id, {
          token: 'call-late',
          nowMs: t0 + 30_000,
          remainingMs: 10_000,
        });
        expect(late.acquired).toBe(true);
        await expect(
          repo().update(id, (s) => s, { nowMs: t0 + 31_000, token: holder }),
        ).rejects.toMatchObject({ code: 'CLUSTER_LEASE_HELD' });
      });

      it('an update with the lease token records the action and releases in one write', async () => {
        const id = `ocid1.generativeaidedicatedaicluster.oc1.test.${++uniq}`;
        const got = await repo().acquire(id, { token: 'c1', nowMs: t0, remainingMs: 60_000 });
        const after = await repo().update(
          id,
          (s) => ({ ...s, scaleUpCooldownUntilMs: t0 + 300_000, recentActionsMs: [t0] }),
          { nowMs: t0 + 1_000, token: 'c1' },
        );
        expect(after.lease).toBeNull();
        expect(after.scaling.scaleUpCooldownUntilMs).toBe(t0 + 300_000);
        expect(after.version).toBe(got.record.version + 1);
        expect(await repo().release(id, 'c1', t0 + 2_000)).toBe(false);
      });

      it('release on failure lets the next invocation in', async () => {
        const id = `ocid1.generativeaidedicatedaicluster.oc1.test.${++uniq}`;
        await repo().acquire(id, { token: 'a', nowMs: t0, remainingMs: 60_000 });
        expect(
          (await repo().acquire(id, { token: 'b', nowMs: t0, remainingMs: 60_000 })).acquired,
        ).toBe(false);
        expect(await repo().release(id, 'a', t0)).toBe(true);
        expect(
          (await repo().acquire(id, { token: 'b', nowMs: t0, remainingMs: 60_000 })).acquired,
        ).toBe(true);
      });

      it('20 concurrent updates of one cluster: every one lands', async () => {
        const id = `ocid1.generativeaidedicatedaicluster.oc1.test.${++uniq}`;
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            repo().update(id, (s) => ({ ...s, recentSignalIds: [...s.recentSignalIds, `s${i}`] }), {
              nowMs: t0,
            }),
          ),
        );
        const final = await repo().get(id, t0);
        expect(new Set(final?.scaling.recentSignalIds).size).toBe(20);
        expect(final?.version).toBe(20);
      });
    });
  });
}
