/**
 * Errors of the state store. Callers branch on the class (or `code`): a conflict means "re-read and
 * try again", a missing record is a domain answer, an unavailable store is a transient outage.
 */
import { DacflowError, type ErrorDetails } from '#shared/errors.ts';

/** The base of every state-store error. */
export class StateError extends DacflowError {
  constructor(message: string, details: ErrorDetails) {
    super(message, details);
    this.name = 'StateError';
  }
}

/** `create` found a document under the key (If-None-Match: * failed and the write was not ours). */
export class AlreadyExistsError extends StateError {
  constructor(key: string, cause?: unknown) {
    super(`state document already exists: ${key}`, {
      code: 'STATE_ALREADY_EXISTS',
      retryable: false,
      cause,
      context: { key },
    });
    this.name = 'AlreadyExistsError';
  }
}

/**
 * A conditional write lost: the document changed since it was read. Retryable: re-read, re-apply,
 * write again (the repositories do this with a bounded, jittered loop).
 */
export class ConflictError extends StateError {
  /**
   * The revision that won, when the store had to read it anyway to settle the conflict: the next
   * attempt can start from it instead of reading again.
   */
  readonly current: { readonly doc: unknown; readonly etag: string } | undefined;
  constructor(key: string, cause?: unknown, current?: { doc: unknown; etag: string }) {
    super(`state document changed concurrently: ${key}`, {
      code: 'STATE_CONFLICT',
      retryable: true,
      cause,
      context: { key },
    });
    this.name = 'ConflictError';
    this.current = current;
  }
}

/** The document does not exist (replace of a deleted record, update of an unknown run). */
export class NotFoundError extends StateError {
  constructor(key: string, cause?: unknown) {
    super(`state document not found: ${key}`, {
      code: 'STATE_NOT_FOUND',
      retryable: false,
      cause,
      context: { key },
    });
    this.name = 'NotFoundError';
  }
}

/**
 * The backing store failed in a way a later retry may fix (5xx after the SDK's own retries, network
 * errors). `ambiguous` is true when a write may or may not have taken effect and a re-read could not
 * settle it; the next attempt re-reads first, so retrying is safe.
 */
export class StoreUnavailableError extends StateError {
  readonly ambiguous: boolean;
  constructor(
    operation: string,
    key: string,
    cause: unknown,
    extra: { ambiguous?: boolean; status?: number; serviceCode?: string } = {},
  ) {
    super(`state store ${operation} failed: ${key}`, {
      code: 'STATE_STORE_UNAVAILABLE',
      retryable: true,
      cause,
      context: { key, operation, status: extra.status, serviceCode: extra.serviceCode },
    });
    this.name = 'StoreUnavailableError';
    this.ambiguous = extra.ambiguous ?? false;
  }
}

/** A stored document is not what dacflow wrote (not JSON, wrong envelope). Needs a human. */
export class CorruptDocumentError extends StateError {
  constructor(key: string, cause?: unknown) {
    super(`state document is not valid dacflow state: ${key}`, {
      code: 'STATE_CORRUPT',
      retryable: false,
      cause,
      context: { key },
    });
    this.name = 'CorruptDocumentError';
  }
}

/** A compare-and-set update lost the race on every allowed attempt. */
export class ContentionError extends StateError {
  constructor(key: string, attempts: number, cause?: unknown) {
    super(`state update gave up after ${attempts} attempts: ${key}`, {
      code: 'STATE_CONTENTION',
      retryable: true,
      cause,
      context: { key, attempts },
    });
    this.name = 'ContentionError';
  }
}

/**
 * The store refused the request for a reason a retry cannot fix (missing bucket, no permission,
 * bad request). Configuration or policy needs fixing.
 */
export class StoreRejectedError extends StateError {
  constructor(
    operation: string,
    key: string,
    cause: unknown,
    extra: { status?: number; serviceCode?: string } = {},
  ) {
    super(`state store rejected ${operation}: ${key}`, {
      code: 'STATE_STORE_REJECTED',
      retryable: false,
      cause,
      context: { key, operation, status: extra.status, serviceCode: extra.serviceCode },
    });
    this.name = 'StoreRejectedError';
  }
}
