/**
 * The OCI Object Storage `DocumentStore`: one JSON object per document under the state prefix,
 * created with `If-None-Match: *` and replaced with `If-Match: <etag>` (facts sheet F).
 *
 * The hard part is the ambiguous write. The SDK's default retry re-sends a PUT after a 5xx or a
 * network error; if the first attempt had in fact committed, the retry fails its own precondition
 * and comes back 412 although the write is ours (facts sheet F, caveat). Every write therefore
 * carries a fresh write id, stored in the object next to the ids of the writes before it
 * (`recentWriteIds`). On a 412, or on any failure that leaves the outcome unknown, the store
 * re-reads the object: if the write id is there, the write took effect (even if another writer has
 * replaced it since), otherwise it really lost.
 */
import { randomBytes } from 'node:crypto';
import type { requests, responses } from 'oci-objectstorage';
import { reservedPrefixes } from '#shared/wiring.ts';
import {
  AlreadyExistsError,
  ConflictError,
  CorruptDocumentError,
  NotFoundError,
  StoreRejectedError,
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

/** The four ObjectStorageClient methods the store uses; a real `ObjectStorageClient` fits. */
export interface ObjectStoragePort {
  putObject(request: requests.PutObjectRequest): Promise<Pick<responses.PutObjectResponse, 'eTag'>>;
  getObject(
    request: requests.GetObjectRequest,
  ): Promise<Pick<responses.GetObjectResponse, 'eTag' | 'value'>>;
  listObjects(
    request: requests.ListObjectsRequest,
  ): Promise<Pick<responses.ListObjectsResponse, 'listObjects'>>;
  deleteObject(request: requests.DeleteObjectRequest): Promise<unknown>;
}

export interface ObjectStorageStoreOptions {
  client: ObjectStoragePort;
  namespace: string;
  bucket: string;
  /** Object-name prefix of every document; `dacflow/state/` (shared/wiring.ts) by default. */
  prefix?: string;
  /** How many earlier write ids a document keeps to recognise a superseded own write. */
  writeIdHistory?: number;
  /** A fresh unique write id; 72 random bits by default. */
  newWriteId?: () => string;
}

/** The stored envelope around a document. Exported for tests and `dacflow` debugging tools. */
export interface StoredEnvelope {
  dacflowState: 1;
  /** Newest first; `[0]` is the write that produced this object. */
  recentWriteIds: string[];
  doc: unknown;
}

/** Default number of write ids kept per document (about 16 bytes each). */
export const defaultWriteIdHistory = 64;
const chainCacheSize = 2048;

export class ObjectStorageStore implements DocumentStore {
  private readonly client: ObjectStoragePort;
  private readonly namespace: string;
  private readonly bucket: string;
  private readonly root: string;
  private readonly history: number;
  private readonly newWriteId: () => string;
  /**
   * The write-id chain of each revision this process has seen, keyed by key and ETag, so a replace
   * can extend the chain without another read. Bounded; a miss only shortens the chain.
   */
  private readonly chains = new Map<string, string[]>();

  constructor(options: ObjectStorageStoreOptions) {
    this.client = options.client;
    this.namespace = options.namespace;
    this.bucket = options.bucket;
    this.root = options.prefix ?? reservedPrefixes.state;
    this.history = Math.max(1, options.writeIdHistory ?? defaultWriteIdHistory);
    this.newWriteId = options.newWriteId ?? (() => randomBytes(9).toString('base64url'));
  }

  /** The object name of a key (tests and tools). */
  objectName(key: string): string {
    return this.root + key;
  }

  async create<T>(key: string, doc: T): Promise<WriteResult> {
    assertValidKey(key);
    const writeId = this.newWriteId();
    const chain = [writeId];
    try {
      const res = await this.put(key, doc, chain, { ifNoneMatch: '*' });
      this.remember(key, res.eTag, chain);
      return { etag: res.eTag };
    } catch (err) {
      const status = statusOf(err);
      if (status === 412 || (status === 409 && serviceCodeOf(err) !== 'IncorrectState')) {
        const current = await this.readEnvelopeOrThrow(key, 'create', err);
        const mine = current && this.ownWrite(current, writeId);
        if (mine) return mine;
        if (current) throw new AlreadyExistsError(key, err);
        // Existed when checked, gone now: let the caller's loop decide again.
        throw status === 412 ? new ConflictError(key, err) : classify('create', key, err);
      }
      return this.settleAmbiguous('create', key, writeId, err);
    }
  }

  async read<T>(key: string): Promise<Versioned<T> | undefined> {
    assertValidKey(key);
    const got = await this.readEnvelope(key, 'read');
    return got && { doc: got.envelope.doc as T, etag: got.etag };
  }

  async replace<T>(key: string, doc: T, etag: string): Promise<WriteResult> {
    assertValidKey(key);
    const writeId = this.newWriteId();
    const previous = this.chains.get(chainKey(key, etag)) ?? [];
    const chain = [writeId, ...previous].slice(0, this.history);
    try {
      const res = await this.put(key, doc, chain, { ifMatch: etag });
      this.remember(key, res.eTag, chain);
      return { etag: res.eTag };
    } catch (err) {
      const status = statusOf(err);
      // If-Match on a missing object: 404 or 412, OCI does not say which (facts sheet F, NOT FOUND).
      if (status === 404) throw new NotFoundError(key, err);
      if (status === 412) {
        const current = await this.readEnvelopeOrThrow(key, 'replace', err);
        if (!current) throw new NotFoundError(key, err);
        const mine = this.ownWrite(current, writeId);
        if (mine) return mine;
        throw new ConflictError(key, err, { doc: current.envelope.doc, etag: current.etag });
      }
      return this.settleAmbiguous('replace', key, writeId, err);
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const request: requests.ListObjectsRequest = {
      namespaceName: this.namespace,
      bucketName: this.bucket,
      prefix: this.root + prefix,
      fields: 'name',
    };
    if (options.start !== undefined) request.start = this.root + options.start;
    if (options.limit !== undefined) request.limit = Math.max(1, Math.floor(options.limit));
    let res: Pick<responses.ListObjectsResponse, 'listObjects'>;
    try {
      res = await this.client.listObjects(request);
    } catch (err) {
      throw classify('list', prefix, err);
    }
    const keys = res.listObjects.objects.map((o) => o.name.slice(this.root.length));
    const nextName = res.listObjects.nextStartWith;
    return nextName === undefined || nextName === null
      ? { keys }
      : { keys, next: nextName.slice(this.root.length) };
  }

  async delete(key: string, etag?: string): Promise<boolean> {
    assertValidKey(key);
    const request: requests.DeleteObjectRequest = {
      namespaceName: this.namespace,
      bucketName: this.bucket,
      objectName: this.objectName(key),
    };
    if (etag !== undefined) request.ifMatch = etag;
    try {
      await this.client.deleteObject(request);
      this.forget(key, etag);
      return true;
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return false;
      if (status === 412) {
        // A retried delete whose first attempt committed sees no object: that delete was ours.
        const current = await this.readEnvelopeOrThrow(key, 'delete', err);
        if (!current) return true;
        throw new ConflictError(key, err);
      }
      throw classify('delete', key, err);
    }
  }

  private async put(
    key: string,
    doc: unknown,
    chain: string[],
    condition: { ifMatch?: string; ifNoneMatch?: string },
  ): Promise<{ eTag: string }> {
    const envelope: StoredEnvelope = { dacflowState: 1, recentWriteIds: chain, doc };
    const body = JSON.stringify(envelope);
    // A string body keeps the SDK's retry enabled (oci-common retrier: streams are not retried).
    const res = await this.client.putObject({
      namespaceName: this.namespace,
      bucketName: this.bucket,
      objectName: this.objectName(key),
      putObjectBody: body,
      contentLength: Buffer.byteLength(body),
      contentType: 'application/json',
      ...condition,
    });
    return { eTag: res.eTag };
  }

  /**
   * After a failure that does not say whether the write landed (5xx once the SDK gave up, a network
   * error): re-read and look for our write id. Resolves when it landed, throws otherwise.
   */
  private async settleAmbiguous(
    operation: 'create' | 'replace',
    key: string,
    writeId: string,
    err: unknown,
  ): Promise<WriteResult> {
    const classified = classify(operation, key, err);
    if (classified instanceof StoreRejectedError) throw classified;
    let current: { envelope: StoredEnvelope; etag: string } | undefined;
    try {
      current = await this.readEnvelope(key, operation);
    } catch {
      throw new StoreUnavailableError(operation, key, err, {
        ambiguous: true,
        status: statusOf(err),
        serviceCode: serviceCodeOf(err),
      });
    }
    const mine = current && this.ownWrite(current, writeId);
    if (mine) return mine;
    throw classified;
  }

  private ownWrite(
    current: { envelope: StoredEnvelope; etag: string },
    writeId: string,
  ): WriteResult | undefined {
    const index = current.envelope.recentWriteIds.indexOf(writeId);
    if (index < 0) return undefined;
    return { etag: index === 0 ? current.etag : undefined };
  }

  private async readEnvelopeOrThrow(key: string, operation: string, cause: unknown) {
    try {
      return await this.readEnvelope(key, operation);
    } catch (err) {
      throw new StoreUnavailableError(operation, key, err, {
        ambiguous: true,
        status: statusOf(cause),
        serviceCode: serviceCodeOf(cause),
      });
    }
  }

  private async readEnvelope(
    key: string,
    operation: string,
  ): Promise<{ envelope: StoredEnvelope; etag: string } | undefined> {
    let res: Pick<responses.GetObjectResponse, 'eTag' | 'value'>;
    try {
      res = await this.client.getObject({
        namespaceName: this.namespace,
        bucketName: this.bucket,
        objectName: this.objectName(key),
      });
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw classify(operation, key, err);
    }
    const text = await readBody(res.value);
    let envelope: StoredEnvelope;
    try {
      envelope = JSON.parse(text) as StoredEnvelope;
    } catch (err) {
      throw new CorruptDocumentError(key, err);
    }
    if (
      envelope === null ||
      typeof envelope !== 'object' ||
      envelope.dacflowState !== 1 ||
      !Array.isArray(envelope.recentWriteIds) ||
      !('doc' in envelope)
    ) {
      throw new CorruptDocumentError(key);
    }
    this.remember(key, res.eTag, envelope.recentWriteIds);
    return { envelope, etag: res.eTag };
  }

  private remember(key: string, etag: string | undefined, chain: string[]): void {
    if (etag === undefined) return;
    const k = chainKey(key, etag);
    this.chains.delete(k);
    this.chains.set(k, chain);
    if (this.chains.size > chainCacheSize) {
      const oldest = this.chains.keys().next().value;
      if (oldest !== undefined) this.chains.delete(oldest);
    }
  }

  private forget(key: string, etag: string | undefined): void {
    if (etag !== undefined) this.chains.delete(chainKey(key, etag));
  }
}

function chainKey(key: string, etag: string): string {
  return `${key}\u0000${etag}`;
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' && Number.isFinite(s) ? s : undefined;
}

function serviceCodeOf(err: unknown): string | undefined {
  const c = (err as { serviceCode?: unknown } | null)?.serviceCode;
  return typeof c === 'string' ? c : undefined;
}

/** Maps an SDK failure to a state error: 5xx, 429 and network errors are retryable. */
function classify(operation: string, key: string, err: unknown): Error {
  const status = statusOf(err);
  const extra = { status, serviceCode: serviceCodeOf(err) };
  if (
    status === undefined ||
    status >= 500 ||
    status === 429 ||
    (status === 409 && extra.serviceCode === 'IncorrectState')
  ) {
    return new StoreUnavailableError(operation, key, err, extra);
  }
  return new StoreRejectedError(operation, key, err, extra);
}

async function readBody(value: unknown): Promise<string> {
  if (typeof value === 'string') return value;
  const chunks: Buffer[] = [];
  for await (const chunk of value as AsyncIterable<Uint8Array | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}
