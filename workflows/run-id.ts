/**
 * Deterministic identifiers for runs and OCI retry tokens. The same object version (namespace,
 * bucket, name, ETag) always maps to the same run, so a redelivered Events message or a reconcile
 * pass finds the existing run instead of starting a second fine-tune (STYLE practice 9).
 */
import { createHash } from 'node:crypto';

/** The object version a run is about. The ETag changes when the object is overwritten. */
export interface DatasetRef {
  namespace: string;
  bucket: string;
  object: string;
  etag: string;
}

/** Hex characters of SHA-256 kept in a run id: 80 bits, collision odds ~1e-12 at a million runs. */
export const RUN_ID_HEX_CHARS = 20;

/** `r` + 20 lower-case hex characters: safe in URLs, object names, display names and tokens. */
export const runIdPattern = /^r[0-9a-f]{20}$/;

export function runIdFor(ref: DatasetRef): string {
  // JSON of an array keeps the fields apart: ("a/b","c") and ("a","b/c") hash differently.
  const digest = createHash('sha256')
    .update(JSON.stringify([ref.namespace, ref.bucket, ref.object, ref.etag]))
    .digest('hex');
  return `r${digest.slice(0, RUN_ID_HEX_CHARS)}`;
}

/** The OCI create calls a run makes; each gets its own retry token. */
export const RetryStep = { TRAIN: 'train', DEPLOY: 'deploy' } as const;
export type RetryStep = (typeof RetryStep)[keyof typeof RetryStep];

/**
 * OCI accepts `opc-retry-token` values of 1-64 characters (API reference, RetryTokenHeader; the SDK
 * doc comment only says tokens expire after 24 hours). We keep to letters, digits, `-` and `_`.
 */
export const RETRY_TOKEN_MAX_CHARS = 64;
export const retryTokenPattern = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The token for attempt `attempt` of `step`. Re-driving the same attempt reuses the token, so a
 * lost response cannot create a second resource; a new attempt after a definite failure gets a new
 * token, because OCI may remember the failed request under the old one.
 */
export function retryTokenFor(runId: string, step: RetryStep, attempt: number): string {
  if (!Number.isSafeInteger(attempt) || attempt < 0) {
    throw new RangeError(`attempt must be a non-negative integer, got ${attempt}`);
  }
  const token = `dacflow-${runId}-${step}-${attempt}`;
  if (!retryTokenPattern.test(token)) {
    // Only a malformed runId can get here; fail before OCI rejects or silently truncates it.
    throw new RangeError(`retry token for run "${runId}" is not a valid OCI retry token`);
  }
  return token;
}
