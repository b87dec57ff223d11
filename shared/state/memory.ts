/**
 * An in-memory `DocumentStore` with the same conditional-write semantics as Object Storage, for
 * unit tests and the local demo. Faults can be injected per operation to exercise retry paths.
 */
import {
  AlreadyExistsError,
  ConflictError,
  NotFoundError,
  StoreUnavailableError,
} from './errors.ts';
import {
  assertValidKey,
  type DocumentStore,
  type ListOptions,
  type ListPage,
  type Versioned,
  type WriteResult,
} from './store.ts';

export type MemoryOperation = 'create' | 'read' | 'replace' | 'list' | 'delete';

/**
 * What an injected fault does. `conflict` fails a `replace` or a conditional `delete` as if another
 * writer had won (a create can only lose to a document that exists, so it ignores `conflict`);
 * `unavailable` throws a retryable `StoreUnavailableError` before the operation runs.
 */
export type MemoryFault = 'conflict' | 'unavailable';

export interface MemoryStoreOptions {
  /** Decides a fault for each call; undefined lets it pass. */
  fault?: (operation: MemoryOperation, key: string) => MemoryFault | undefined;
  /**
   * Awaited before each operation so concurrent callers interleave as they would over a network.
   * Defaults to one macrotask turn.
   */
  tick?: () => Promise<void>;
}

interface Entry {
  json: string;
  etag: string;
}

export class MemoryStore implements DocumentStore {
  private readonly entries = new Map<string, Entry>();
  private counter = 0;
  /** How many writes (create, replace, delete) took effect: tests assert on it. */
  writes = 0;

  constructor(private readonly options: MemoryStoreOptions = {}) {}

  private async enter(operation: MemoryOperation, key: string): Promise<MemoryFault | undefined> {
    await (this.options.tick ?? defaultTick)();
    const fault = this.options.fault?.(operation, key);
    if (fault === 'unavailable') {
      throw new StoreUnavailableError(operation, key, new Error('injected fault'), {
        status: 503,
      });
    }
    return fault;
  }

  private nextEtag(): string {
    this.counter += 1;
    return `m${this.counter}`;
  }

  async create<T>(key: string, doc: T): Promise<WriteResult> {
    assertValidKey(key);
    await this.enter('create', key);
    if (this.entries.has(key)) throw new AlreadyExistsError(key);
    const etag = this.nextEtag();
    this.entries.set(key, { json: JSON.stringify(doc), etag });
    this.writes += 1;
    return { etag };
  }

  async read<T>(key: string): Promise<Versioned<T> | undefined> {
    assertValidKey(key);
    await this.enter('read', key);
    const entry = this.entries.get(key);
    return entry && { doc: JSON.parse(entry.json) as T, etag: entry.etag };
  }

  async replace<T>(key: string, doc: T, etag: string): Promise<WriteResult> {
    assertValidKey(key);
    const fault = await this.enter('replace', key);
    const entry = this.entries.get(key);
    if (!entry) throw new NotFoundError(key);
    if (fault === 'conflict' || entry.etag !== etag) throw new ConflictError(key);
    const next = this.nextEtag();
    this.entries.set(key, { json: JSON.stringify(doc), etag: next });
    this.writes += 1;
    return { etag: next };
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    await this.enter('list', prefix);
    const limit = Math.max(1, options.limit ?? 1000);
    const keys = [...this.entries.keys()]
      .filter((k) => k.startsWith(prefix) && (options.start === undefined || k >= options.start))
      .sort(compareBytes);
    const page = keys.slice(0, limit);
    const next = keys[limit];
    return next === undefined ? { keys: page } : { keys: page, next };
  }

  async delete(key: string, etag?: string): Promise<boolean> {
    assertValidKey(key);
    const fault = await this.enter('delete', key);
    const entry = this.entries.get(key);
    if (!entry) return false;
    if (etag !== undefined && (fault === 'conflict' || entry.etag !== etag)) {
      throw new ConflictError(key);
    }
    this.entries.delete(key);
    this.writes += 1;
    return true;
  }

  /** Every stored key (tests). */
  keys(): string[] {
    return [...this.entries.keys()].sort(compareBytes);
  }
}

const defaultTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Object Storage lists names in UTF-8 byte order; plain `<` on ASCII keys agrees with it. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
