/**
 * The document store port: the only thing the run and cluster repositories know about storage.
 * Every write is conditional (create-if-absent or replace-if-unchanged), which is all Object
 * Storage offers and all a compare-and-set repository needs. Backends: `memory.ts` (tests) and
 * `object-storage.ts` (OCI).
 */

/** A document with the opaque revision that a later `replace`/`delete` must present. */
export interface Versioned<T> {
  readonly doc: T;
  /** Opaque: pass it back unchanged. For Object Storage it is the object's ETag. */
  readonly etag: string;
}

export interface WriteResult {
  /**
   * The revision written, or `undefined` when the write is known to have taken effect but was
   * already replaced by another writer before this call could learn its revision (the retried-412
   * case, see docs/state.md). Either way the write happened.
   */
  readonly etag: string | undefined;
}

export interface ListOptions {
  /** Return keys greater than or equal to this one (the `next` of a previous page). */
  start?: string;
  /** At most this many keys per page. */
  limit?: number;
}

export interface ListPage {
  /** Keys in ascending byte order, including the prefix. */
  keys: string[];
  /** Pass as `start` to get the next page; absent on the last page. */
  next?: string;
}

/**
 * Documents are plain JSON values (objects of strings, numbers, booleans, null, arrays); `undefined`
 * properties are dropped on write, as `JSON.stringify` does.
 */
export interface DocumentStore {
  /** Writes `doc` only if nothing exists under `key`; `AlreadyExistsError` otherwise. */
  create<T>(key: string, doc: T): Promise<WriteResult>;
  read<T>(key: string): Promise<Versioned<T> | undefined>;
  /**
   * Writes `doc` only if the stored revision is still `etag`: `ConflictError` when it changed,
   * `NotFoundError` when the document is gone.
   */
  replace<T>(key: string, doc: T, etag: string): Promise<WriteResult>;
  /** One page of keys under `prefix`. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /**
   * Deletes `key` (only at revision `etag` when given; `ConflictError` if it changed). Returns false
   * when there was nothing to delete, so deletes are idempotent.
   */
  delete(key: string, etag?: string): Promise<boolean>;
}

/** Keys are relative names such as `runs/<id>`: no leading slash, no empty or dot segments. */
export function assertValidKey(key: string): void {
  if (
    key.length === 0 ||
    key.length > 512 ||
    !/^[A-Za-z0-9._~:@=+-]+(\/[A-Za-z0-9._~:@=+-]+)*\/?$/.test(key) ||
    key.split('/').some((s) => s === '.' || s === '..')
  ) {
    throw new TypeError(`invalid state key: ${JSON.stringify(key)}`);
  }
}

/** Every key under `prefix`, page by page (the reconciler's scan). */
export async function* listAll(
  store: DocumentStore,
  prefix: string,
  pageSize = 200,
): AsyncGenerator<string> {
  let start: string | undefined;
  do {
    const page = await store.list(prefix, { start, limit: pageSize });
    yield* page.keys;
    start = page.next;
  } while (start !== undefined);
}
