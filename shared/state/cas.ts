/**
 * Compare-and-set over a `DocumentStore`: read, apply a pure change, write conditionally, and on a
 * lost race try again after a jittered backoff, a bounded number of times. Randomness and sleeping
 * are injected so tests are deterministic.
 */
import {
  AlreadyExistsError,
  ConflictError,
  ContentionError,
  NotFoundError,
  StoreUnavailableError,
} from './errors.ts';
import type { DocumentStore } from './store.ts';

export interface RetryPolicy {
  /** Total attempts, the first included. */
  maxAttempts: number;
  /** The backoff cap of the first retry; doubles per retry. */
  baseDelayMs: number;
  /** The backoff cap never grows past this. */
  maxDelayMs: number;
}

/**
 * Enough for a handful of functions racing on one record (a run is touched by its event, the
 * reconciler and a deploy at most); the contract tests prove 50 concurrent writers with a larger
 * budget.
 */
export const defaultRetryPolicy: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 12,
  baseDelayMs: 20,
  maxDelayMs: 1_000,
});

export interface CasDeps {
  /** Uniform in [0, 1); `Math.random` in production, seeded in tests. */
  random: () => number;
  sleep: (ms: number) => Promise<void>;
  policy?: Partial<RetryPolicy>;
}

/** Production defaults: real randomness and timers. */
export const realCasDeps: CasDeps = {
  random: Math.random,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** "Full jitter" (AWS Architecture Blog, exponential backoff and jitter): uniform in [0, cap]. */
export function backoffDelayMs(retry: number, policy: RetryPolicy, random: () => number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * cap);
}

export interface CasResult<T> {
  doc: T;
  /** Undefined when unknown (a superseded own write) or when nothing was written. */
  etag: string | undefined;
  /** False when `change` returned undefined: nothing was written. */
  changed: boolean;
  /** Attempts used, the first included. */
  attempts: number;
}

export interface CasHooks<T> {
  /**
   * The document to start from when none exists; without it a missing document is an error. It is
   * only written if `change` changes it.
   */
  initial?: () => T;
  /** Runs before each conditional write (index upkeep that must precede the record). */
  beforeWrite?: (current: T | undefined, next: T) => Promise<void>;
}

/** True for store errors after which a fresh read and another attempt can succeed. */
export function isRetryableStateError(err: unknown): boolean {
  return err instanceof StoreUnavailableError || err instanceof ConflictError;
}

/**
 * Applies `change` to the document at `key` with compare-and-set. `change` may run several times
 * (once per attempt) and must be pure; return `undefined` for "no change" and nothing is written.
 * When the document is missing, `hooks.initial` (if given) supplies it and the write is a create;
 * otherwise `NotFoundError`.
 */
export async function casUpdate<T>(
  store: DocumentStore,
  key: string,
  change: (current: T) => T | undefined,
  deps: CasDeps,
  hooks: CasHooks<T> = {},
): Promise<CasResult<T>> {
  const { initial, beforeWrite } = hooks;
  const policy = { ...defaultRetryPolicy, ...deps.policy };
  let lastError: unknown;
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    if (attempt > 1) await deps.sleep(backoffDelayMs(attempt - 1, policy, deps.random));
    try {
      const current = await store.read<T>(key);
      if (!current) {
        if (!initial) throw new NotFoundError(key);
        const base = initial();
        const doc = change(base);
        if (doc === undefined)
          return { doc: base, etag: undefined, changed: false, attempts: attempt };
        if (beforeWrite) await beforeWrite(undefined, doc);
        const res = await store.create(key, doc);
        return { doc, etag: res.etag, changed: true, attempts: attempt };
      }
      const doc = change(current.doc);
      if (doc === undefined) {
        return { doc: current.doc, etag: current.etag, changed: false, attempts: attempt };
      }
      if (beforeWrite) await beforeWrite(current.doc, doc);
      const res = await store.replace(key, doc, current.etag);
      return { doc, etag: res.etag, changed: true, attempts: attempt };
    } catch (err) {
      if (
        err instanceof ConflictError ||
        (err instanceof NotFoundError && initial !== undefined) ||
        err instanceof AlreadyExistsError ||
        isRetryableStateError(err)
      ) {
        lastError = err;
        continue;
      }
      throw err;
    }
  }
  throw new ContentionError(key, policy.maxAttempts, lastError);
}
