/**
 * Run records in the document store, with the index the reconciler needs. Object Storage has no
 * query, so the repository keeps two small indexes next to the records:
 *
 * - `active/<runId>`: a marker for every run that is not terminal. It is created BEFORE the record
 *   becomes non-terminal and removed AFTER it becomes terminal, so a crash can only leave a stale
 *   marker (harmless, cleaned by `listByState`), never an active run without one.
 * - `latest/<hash of namespace, bucket, object name>`: which run is the newest for an object name,
 *   so a re-upload (new ETag, new run id) finds and supersedes the run of the older upload.
 *
 * Key layout, guarantees and failure cases: docs/state.md.
 */
import { createHash } from 'node:crypto';
import { silentLogger, type Logger } from '#shared/log.ts';
import { isTerminal, type Run, type RunState } from '#workflows/machine.ts';
import {
  backoffDelayMs,
  casUpdate,
  defaultRetryPolicy,
  isRetryableStateError,
  type CasDeps,
} from './cas.ts';
import { AlreadyExistsError, ContentionError } from './errors.ts';
import { listAll, type DocumentStore } from './store.ts';

/** How the repository reads the fields it indexes; `runRecordShape` binds it to `Run`. */
export interface RunRecordShape<R extends { version: number }> {
  runId(run: R): string;
  state(run: R): string;
  isTerminal(state: string): boolean;
  /** Identity of the dataset object without its ETag: every upload of one name shares it. */
  datasetKey(run: R): string;
  /** Orders runs of one object name: the larger is the newer upload. */
  createdAtMs(run: R): number;
}

/** The binding for `Run` from the workflow state machine. */
export const runRecordShape: RunRecordShape<Run> = {
  runId: (run) => run.runId,
  state: (run) => run.state,
  isTerminal: (state) => isTerminal(state as RunState),
  datasetKey: (run) =>
    JSON.stringify([run.dataset.namespace, run.dataset.bucket, run.dataset.object]),
  createdAtMs: (run) => Date.parse(run.createdAt),
};

/** Keys relative to the state prefix (`dacflow/state/`). */
export const runKeys = {
  record: (runId: string) => `runs/${runId}`,
  active: (runId: string) => `active/${runId}`,
  latest: (datasetKey: string) =>
    `latest/${createHash('sha256').update(datasetKey).digest('hex').slice(0, 40)}`,
  recordPrefix: 'runs/',
  activePrefix: 'active/',
} as const;

/** The marker document under `active/<runId>`. */
export interface ActiveMarker {
  runId: string;
  /** When the marker was written: an orphan (no record) younger than the grace is left alone. */
  createdAtMs: number;
}

/** The pointer document under `latest/<hash>`. */
export interface LatestPointer {
  datasetKey: string;
  runId: string;
  createdAtMs: number;
  /** The run this pointer pointed to before `runId` took over: the one to supersede. */
  previousRunId: string | null;
}

export interface CreateResult<R> {
  /** The stored record: the new one, or the existing one on a duplicate delivery. */
  run: R;
  created: boolean;
  /** An older run of the same object name that this run replaces (the caller supersedes it). */
  supersedes?: string;
  /** A newer run of the same object name already exists: this run is stale. */
  supersededBy?: string;
}

export interface ActiveScan<R> {
  runs: R[];
  /** Markers seen. */
  markers: number;
  /** Markers removed because their run is terminal or was never written. */
  staleMarkersRemoved: number;
  /** Markers whose run could not be read this time (transient errors); retried next pass. */
  unreadable: number;
}

export interface RunRepositoryDeps {
  cas: CasDeps;
  /** Epoch milliseconds. */
  nowMs: () => number;
  log?: Logger;
  /** A marker without a record younger than this may belong to a create in progress. */
  orphanMarkerGraceMs?: number;
  /** Parallel record reads during a scan. */
  readConcurrency?: number;
}

/** Functions run at most 300 s (func.yaml); twice that covers a create frozen mid-way. */
export const defaultOrphanMarkerGraceMs = 600_000;
const defaultReadConcurrency = 8;
const maxCreateAttempts = 5;

export class RunRepository<R extends { version: number }> {
  private readonly log: Logger;
  private readonly graceMs: number;
  private readonly concurrency: number;

  constructor(
    private readonly store: DocumentStore,
    private readonly shape: RunRecordShape<R>,
    private readonly deps: RunRepositoryDeps,
  ) {
    this.log = deps.log ?? silentLogger;
    this.graceMs = deps.orphanMarkerGraceMs ?? defaultOrphanMarkerGraceMs;
    this.concurrency = Math.max(1, deps.readConcurrency ?? defaultReadConcurrency);
  }

  /**
   * Stores `run` (its id derived from the object version) unless a record with that id exists, in
   * which case the existing record is returned: a redelivered event is a no-op. The record is
   * written with `version: 1`. Also moves the `latest` pointer and says which run this one
   * supersedes (or is superseded by); calling it again after a crash repairs the pointer.
   */
  async createIfAbsent(run: R): Promise<CreateResult<R>> {
    const runId = this.shape.runId(run);
    const terminal = this.shape.isTerminal(this.shape.state(run));
    let markerCreated = false;
    if (!terminal) markerCreated = await this.ensureMarker(runId);

    let stored: R | undefined;
    let created = false;
    for (let attempt = 1; stored === undefined; attempt++) {
      try {
        const doc = { ...run, version: 1 };
        const res = await this.store.create(runKeys.record(runId), doc);
        created = true;
        // Our create landed but was already updated by someone else: return what is stored now.
        stored = res.etag === undefined ? ((await this.get(runId)) ?? doc) : doc;
      } catch (err) {
        if (!(err instanceof AlreadyExistsError) && !isRetryableStateError(err)) throw err;
        const existing = await this.store.read<R>(runKeys.record(runId));
        stored = existing?.doc;
        if (stored === undefined) {
          if (attempt >= maxCreateAttempts) {
            throw new ContentionError(runKeys.record(runId), attempt, err);
          }
          const policy = { ...defaultRetryPolicy, ...this.deps.cas.policy };
          await this.deps.cas.sleep(backoffDelayMs(attempt, policy, this.deps.cas.random));
        }
      }
    }
    if (markerCreated && this.shape.isTerminal(this.shape.state(stored))) {
      // A duplicate delivery of a run that has already finished: take our marker back.
      await this.removeMarker(runId);
    }

    const pointer = await this.movePointer(stored);
    const result: CreateResult<R> = { run: stored, created };
    if (pointer.runId === runId) {
      if (pointer.previousRunId !== null) result.supersedes = pointer.previousRunId;
    } else {
      result.supersededBy = pointer.runId;
    }
    return result;
  }

  async get(runId: string): Promise<R | undefined> {
    return (await this.store.read<R>(runKeys.record(runId)))?.doc;
  }

  /**
   * Compare-and-set update: `change` gets the current record and returns the next one (or the same
   * object / undefined for "no change"). It may run several times, so it must be pure; `decide`
   * from the state machine is. The version is incremented on every write. Keeps the active index:
   * a run that becomes terminal loses its marker after the write.
   */
  async update(runId: string, change: (current: R) => R | undefined): Promise<R> {
    const key = runKeys.record(runId);
    const result = await casUpdate<R>(
      this.store,
      key,
      (current) => {
        const next = change(current);
        if (next === undefined || next === current) return undefined;
        if (this.shape.runId(next) !== runId) {
          throw new TypeError(`update of run ${runId} returned run ${this.shape.runId(next)}`);
        }
        return { ...next, version: current.version + 1 };
      },
      this.deps.cas,
      {
        beforeWrite: async (current, next) => {
          // Index before record: a run never becomes non-terminal without its marker.
          const wasTerminal =
            current === undefined || this.shape.isTerminal(this.shape.state(current));
          if (wasTerminal && !this.shape.isTerminal(this.shape.state(next))) {
            await this.ensureMarker(runId);
          }
        },
      },
    );
    if (result.changed && this.shape.isTerminal(this.shape.state(result.doc))) {
      await this.removeMarker(runId);
    }
    return result.doc;
  }

  /**
   * Every stored run id, terminal ones included, page by page from a key listing (no record
   * reads). The reconciler uses it to find dataset objects whose event never produced a run.
   */
  async *runIds(): AsyncGenerator<string> {
    for await (const key of listAll(this.store, runKeys.recordPrefix)) {
      yield key.slice(runKeys.recordPrefix.length);
    }
  }

  /** The run that the newest upload of an object name created, if any. */
  async latestFor(datasetKey: string): Promise<LatestPointer | undefined> {
    return (await this.store.read<LatestPointer>(runKeys.latest(datasetKey)))?.doc;
  }

  /**
   * Every non-terminal run, found through the active index (one list page per 200 runs plus one
   * read per run, no full scan). Stale markers are expected and removed on the way.
   */
  async scanActive(): Promise<ActiveScan<R>> {
    const scan: ActiveScan<R> = { runs: [], markers: 0, staleMarkersRemoved: 0, unreadable: 0 };
    const runIds: string[] = [];
    for await (const key of listAll(this.store, runKeys.activePrefix)) {
      runIds.push(key.slice(runKeys.activePrefix.length));
    }
    scan.markers = runIds.length;
    const found = await mapLimit(runIds, this.concurrency, async (runId) => {
      try {
        return await this.inspectMarker(runId, scan);
      } catch (err) {
        if (!isRetryableStateError(err)) throw err;
        scan.unreadable += 1;
        this.log.warn('active run unreadable', { runId, code: (err as { code?: string }).code });
        return undefined;
      }
    });
    for (const run of found) if (run !== undefined) scan.runs.push(run);
    return scan;
  }

  /**
   * Runs in any of `states`. Non-terminal states use the active index; asking for a terminal state
   * falls back to listing every record, which is linear in all runs ever stored.
   */
  async listByState(states: readonly string[]): Promise<R[]> {
    const wanted = new Set(states);
    if (states.every((s) => !this.shape.isTerminal(s))) {
      const scan = await this.scanActive();
      return scan.runs.filter((r) => wanted.has(this.shape.state(r)));
    }
    const keys: string[] = [];
    for await (const key of listAll(this.store, runKeys.recordPrefix)) keys.push(key);
    const runs = await mapLimit(
      keys,
      this.concurrency,
      async (key) => (await this.store.read<R>(key))?.doc,
    );
    return runs.filter((r): r is R => r !== undefined && wanted.has(this.shape.state(r)));
  }

  private async inspectMarker(runId: string, scan: ActiveScan<R>): Promise<R | undefined> {
    const record = await this.store.read<R>(runKeys.record(runId));
    if (record && !this.shape.isTerminal(this.shape.state(record.doc))) return record.doc;
    if (!record) {
      const marker = await this.store.read<ActiveMarker>(runKeys.active(runId));
      if (!marker) return undefined;
      if (this.deps.nowMs() - marker.doc.createdAtMs < this.graceMs) return undefined;
    }
    if (await this.removeMarker(runId)) scan.staleMarkersRemoved += 1;
    return undefined;
  }

  /** Creates the marker if absent; true when this call created it. */
  private async ensureMarker(runId: string): Promise<boolean> {
    const marker: ActiveMarker = { runId, createdAtMs: this.deps.nowMs() };
    try {
      await this.store.create(runKeys.active(runId), marker);
      return true;
    } catch (err) {
      if (err instanceof AlreadyExistsError) return false;
      throw err;
    }
  }

  /**
   * Removes the marker, then re-reads the record and puts the marker back if the run is (again, or
   * by now) non-terminal, so a removal racing a create or a reopen cannot hide an active run.
   * Failures are logged, not thrown: a marker left behind is only a stale marker.
   */
  private async removeMarker(runId: string): Promise<boolean> {
    try {
      const removed = await this.store.delete(runKeys.active(runId));
      const record = await this.store.read<R>(runKeys.record(runId));
      if (record && !this.shape.isTerminal(this.shape.state(record.doc))) {
        await this.ensureMarker(runId);
        return false;
      }
      return removed;
    } catch (err) {
      if (!isRetryableStateError(err)) throw err;
      this.log.warn('active marker not removed; the reconciler will retry', {
        runId,
        code: (err as { code?: string }).code,
      });
      return false;
    }
  }

  private async movePointer(run: R): Promise<LatestPointer> {
    const runId = this.shape.runId(run);
    const datasetKey = this.shape.datasetKey(run);
    const createdAtMs = this.shape.createdAtMs(run);
    const mine: LatestPointer = { datasetKey, runId, createdAtMs, previousRunId: null };
    const result = await casUpdate<LatestPointer>(
      this.store,
      runKeys.latest(datasetKey),
      (p) => {
        if (p.runId === runId) return undefined;
        if (p.runId === '') return mine;
        const newer =
          p.createdAtMs > createdAtMs || (p.createdAtMs === createdAtMs && p.runId > runId);
        return newer ? undefined : { ...mine, previousRunId: p.runId };
      },
      this.deps.cas,
      // A placeholder that `change` replaces: only the change is written.
      { initial: () => ({ ...mine, runId: '' }) },
    );
    return result.doc;
  }
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping order. */
export async function mapLimit<T, U>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<U>,
): Promise<U[]> {
  const out = new Array<U>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
