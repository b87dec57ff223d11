/**
 * Object Storage on its real REST paths (`/n/...`): namespace, buckets, objects with ETags and
 * conditional requests, range reads and multipart uploads. Object bodies stream to a temp file and
 * are renamed into place; the metadata swap is serialised per object, so conditional writes are
 * atomic.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  OciApiError,
  type Collection,
  type EmulatorContext,
  type EmulatorRequest,
  type EmulatorResponse,
  type EmulatorService,
  type Route,
} from './service.ts';

export const bucketVersioning = ['Enabled', 'Suspended', 'Disabled'] as const;
export type BucketVersioning = (typeof bucketVersioning)[number];

export interface BucketRecord {
  id: string; // bucket name
  ocid: string;
  compartmentId: string;
  createdBy: string;
  timeCreated: string;
  etag: string;
  metadata: Record<string, string>;
  objectEventsEnabled: boolean;
  versioning: BucketVersioning;
  publicAccessType: string;
  storageTier: string;
  freeformTags: Record<string, string>;
  definedTags: Record<string, Record<string, unknown>>;
}

export interface ObjectRecord {
  id: string; // object name
  blob: string;
  size: number;
  etag: string;
  /** Base64 MD5 of the whole body (single PUT); undefined for multipart objects. */
  md5?: string;
  /** `<base64 md5 of part md5s>-<count>` for multipart objects. */
  multipartMd5?: string;
  contentType: string;
  timeCreated: string;
  timeModified: string;
  userMetadata: Record<string, string>;
}

interface UploadRecord {
  id: string; // upload id
  bucket: string;
  object: string;
  timeCreated: string;
  contentType: string;
  userMetadata: Record<string, string>;
  parts: Record<string, { etag: string; size: number; md5: string }>;
}

export interface ObjectStorageOptions {
  /**
   * Status for `If-Match` on an object that does not exist. What OCI returns is not documented
   * (oci-facts F: NOT FOUND); 404 ObjectNotFound by default, 412 NoEtagMatch as the alternative.
   */
  ifMatchMissingStatus?: 404 | 412;
}

const bucketNamePattern = /^[A-Za-z0-9_.-]{1,256}$/;
const maxListLimit = 1000;

function notFoundBucket(name: string): OciApiError {
  return new OciApiError(
    404,
    'BucketNotFound',
    `Either the bucket named '${name}' does not exist in the namespace or you are not authorized to access it`,
  );
}
function notFoundObject(bucket: string, name: string): OciApiError {
  return new OciApiError(
    404,
    'ObjectNotFound',
    `The object '${name}' was not found in the bucket '${bucket}'`,
  );
}
function noEtagMatch(message: string): OciApiError {
  return new OciApiError(412, 'NoEtagMatch', message);
}

function header(req: EmulatorRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function userMetadataFrom(req: EmulatorRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.startsWith('opc-meta-') && typeof v === 'string') out[k] = v;
  }
  return out;
}

/** Hashes a stream on its way to disk. */
class HashingPassThrough extends Transform {
  readonly md5 = createHash('md5');
  size = 0;
  override _transform(
    chunk: Buffer,
    _enc: BufferEncoding,
    cb: (e?: Error | null, d?: Buffer) => void,
  ): void {
    this.md5.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
}

/** Serialises async critical sections per key. */
class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();
  async run<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

interface Preconditions {
  ifMatch?: string;
  ifNoneMatch?: string;
}

function preconditionsFrom(req: EmulatorRequest): Preconditions {
  const p: Preconditions = {};
  const im = header(req, 'if-match');
  const inm = header(req, 'if-none-match');
  if (im !== undefined) p.ifMatch = im;
  if (inm !== undefined) p.ifNoneMatch = inm;
  return p;
}

function parseRange(h: string, size: number): { start: number; end: number } | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) {
    throw new OciApiError(400, 'InvalidParameter', `invalid range header '${h}'`);
  }
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0)
      throw new OciApiError(416, 'InvalidRange', 'the requested range is not satisfiable');
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) {
      throw new OciApiError(400, 'InvalidParameter', `invalid range header '${h}'`);
    }
  }
  if (start >= size)
    throw new OciApiError(416, 'InvalidRange', 'the requested range is not satisfiable');
  return { start, end };
}

export class ObjectStorageService implements EmulatorService {
  readonly name = 'objectstorage';
  private ctx!: EmulatorContext;
  private buckets!: Collection<BucketRecord>;
  private readonly objectCollections = new Map<string, Collection<ObjectRecord>>();
  private uploads!: Collection<UploadRecord>;
  private readonly mutex = new KeyedMutex();
  private root = '';

  constructor(private readonly options: ObjectStorageOptions = {}) {}

  private get blobDir(): string {
    return join(this.root, 'blobs');
  }
  private get tmpDir(): string {
    return join(this.root, 'tmp');
  }
  private uploadDir(uploadId: string): string {
    return join(this.root, 'uploads', uploadId);
  }

  private objects(bucket: string): Collection<ObjectRecord> {
    let c = this.objectCollections.get(bucket);
    if (!c) {
      c = this.ctx.collection<ObjectRecord>(`objects.${bucket}`);
      this.objectCollections.set(bucket, c);
    }
    return c;
  }

  /** Used by the context: does the object exist? */
  async objectExists(namespace: string, bucket: string, name: string): Promise<boolean> {
    if (namespace !== this.ctx.namespace || !this.buckets.get(bucket)) return false;
    return this.objects(bucket).get(name) !== undefined;
  }

  routes(ctx: EmulatorContext): Route[] {
    this.ctx = ctx;
    this.root = join(ctx.dataDir, 'objectstorage');
    for (const d of [this.blobDir, this.tmpDir, join(this.root, 'uploads')])
      mkdirSync(d, { recursive: true });
    // Leftovers of uploads interrupted by a crash.
    for (const f of readdirSync(this.tmpDir)) rmSync(join(this.tmpDir, f), { force: true });
    this.buckets = ctx.collection<BucketRecord>('buckets');
    this.uploads = ctx.collection<UploadRecord>('multipart-uploads');
    const b = '/n/{namespaceName}/b/{bucketName}';
    const r = (
      method: Route['method'],
      path: string,
      operation: string,
      handler: Route['handler'],
      streamBody = false,
    ): Route => ({
      method,
      path,
      operation,
      handler,
      ...(streamBody ? { streamBody } : {}),
    });
    return [
      r('GET', '/n', 'GetNamespace', async () => ({ status: 200, body: ctx.namespace })),
      r('GET', '/n/{namespaceName}', 'GetNamespaceMetadata', async (req) => {
        this.checkNamespace(req);
        return {
          status: 200,
          body: {
            namespace: ctx.namespace,
            defaultS3CompartmentId: ctx.compartmentId,
            defaultSwiftCompartmentId: ctx.compartmentId,
          },
        };
      }),
      r('POST', '/n/{namespaceName}/b', 'CreateBucket', (req) => this.createBucket(req)),
      r('GET', '/n/{namespaceName}/b', 'ListBuckets', (req) => this.listBuckets(req)),
      r('GET', b, 'GetBucket', (req) => this.getBucket(req, false)),
      r('HEAD', b, 'HeadBucket', (req) => this.getBucket(req, true)),
      r('POST', b, 'UpdateBucket', (req) => this.updateBucket(req)),
      r('DELETE', b, 'DeleteBucket', (req) => this.deleteBucket(req)),
      r('GET', `${b}/o`, 'ListObjects', (req) => this.listObjects(req)),
      r('PUT', `${b}/o/{objectName}`, 'PutObject', (req) => this.putObject(req), true),
      r('GET', `${b}/o/{objectName}`, 'GetObject', (req) => this.getObject(req, false)),
      r('HEAD', `${b}/o/{objectName}`, 'HeadObject', (req) => this.getObject(req, true)),
      r('DELETE', `${b}/o/{objectName}`, 'DeleteObject', (req) => this.deleteObject(req)),
      r('POST', `${b}/u`, 'CreateMultipartUpload', (req) => this.createUpload(req)),
      r('GET', `${b}/u`, 'ListMultipartUploads', (req) => this.listUploads(req)),
      r('PUT', `${b}/u/{objectName}`, 'UploadPart', (req) => this.uploadPart(req), true),
      r('GET', `${b}/u/{objectName}`, 'ListMultipartUploadParts', (req) => this.listParts(req)),
      r('POST', `${b}/u/{objectName}`, 'CommitMultipartUpload', (req) => this.commitUpload(req)),
      r('DELETE', `${b}/u/{objectName}`, 'AbortMultipartUpload', (req) => this.abortUpload(req)),
    ];
  }

  private checkNamespace(req: EmulatorRequest): void {
    if (req.params.namespaceName !== this.ctx.namespace) {
      throw new OciApiError(
        404,
        'NamespaceNotFound',
        `You do not have authorization to perform this request, or the requested resource could not be found.`,
      );
    }
  }

  private bucket(req: EmulatorRequest): BucketRecord {
    this.checkNamespace(req);
    const name = req.params.bucketName ?? '';
    const rec = this.buckets.get(name);
    if (!rec) throw notFoundBucket(name);
    return rec;
  }

  private bucketBody(rec: BucketRecord): Record<string, unknown> {
    const objects = this.objects(rec.id).list();
    return {
      namespace: this.ctx.namespace,
      name: rec.id,
      id: rec.ocid,
      compartmentId: rec.compartmentId,
      metadata: rec.metadata,
      createdBy: rec.createdBy,
      timeCreated: rec.timeCreated,
      etag: rec.etag,
      publicAccessType: rec.publicAccessType,
      storageTier: rec.storageTier,
      objectEventsEnabled: rec.objectEventsEnabled,
      freeformTags: rec.freeformTags,
      definedTags: rec.definedTags,
      versioning: rec.versioning,
      approximateCount: objects.length,
      approximateSize: objects.reduce((s, o) => s + o.size, 0),
      replicationEnabled: false,
      isReadOnly: false,
      autoTiering: 'Disabled',
    };
  }

  private async createBucket(req: EmulatorRequest): Promise<EmulatorResponse> {
    this.checkNamespace(req);
    const d = await req.json<Record<string, unknown> | null>();
    if (!d || typeof d !== 'object')
      throw new OciApiError(400, 'MissingParameter', 'body is required');
    const name = d.name;
    if (typeof name !== 'string' || name === '')
      throw new OciApiError(400, 'MissingParameter', 'name is required');
    if (!bucketNamePattern.test(name))
      throw new OciApiError(400, 'InvalidParameter', `invalid bucket name '${name}'`);
    if (typeof d.compartmentId !== 'string' || d.compartmentId === '') {
      throw new OciApiError(400, 'MissingParameter', 'compartmentId is required');
    }
    const versioning = (d.versioning ?? 'Disabled') as BucketVersioning;
    if (!bucketVersioning.includes(versioning))
      throw new OciApiError(
        400,
        'InvalidParameter',
        `invalid versioning '${String(d.versioning)}'`,
      );
    if (this.buckets.get(name)) {
      throw new OciApiError(
        409,
        'BucketAlreadyExists',
        `Either the bucket '${name}' in namespace '${this.ctx.namespace}' already exists or you are not authorized to create it`,
      );
    }
    const rec: BucketRecord = {
      id: name,
      ocid: this.ctx.newOcid('bucket'),
      compartmentId: d.compartmentId,
      createdBy: 'emulator',
      timeCreated: this.ctx.now().toISOString(),
      etag: randomUUID(),
      metadata: (d.metadata as Record<string, string>) ?? {},
      objectEventsEnabled: d.objectEventsEnabled === true,
      versioning,
      publicAccessType:
        typeof d.publicAccessType === 'string' ? d.publicAccessType : 'NoPublicAccess',
      storageTier: typeof d.storageTier === 'string' ? d.storageTier : 'Standard',
      freeformTags: (d.freeformTags as Record<string, string>) ?? {},
      definedTags: (d.definedTags as Record<string, Record<string, unknown>>) ?? {},
    };
    this.buckets.put(rec);
    return {
      status: 200,
      headers: {
        etag: rec.etag,
        location: `/n/${this.ctx.namespace}/b/${encodeURIComponent(name)}`,
      },
      body: this.bucketBody(rec),
    };
  }

  private async listBuckets(req: EmulatorRequest): Promise<EmulatorResponse> {
    this.checkNamespace(req);
    const compartmentId = req.query.get('compartmentId');
    if (!compartmentId) throw new OciApiError(400, 'MissingParameter', 'compartmentId is required');
    const limit = Math.min(
      Number(req.query.get('limit') ?? maxListLimit) || maxListLimit,
      maxListLimit,
    );
    const page = req.query.get('page');
    const all = this.buckets
      .list()
      .filter((b) => b.compartmentId === compartmentId)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .filter((b) => page === null || b.id >= page);
    const items = all.slice(0, limit);
    const next = all[limit];
    return {
      status: 200,
      headers: next ? { 'opc-next-page': next.id } : {},
      body: items.map((b) => ({
        namespace: this.ctx.namespace,
        name: b.id,
        compartmentId: b.compartmentId,
        createdBy: b.createdBy,
        timeCreated: b.timeCreated,
        etag: b.etag,
        freeformTags: b.freeformTags,
        definedTags: b.definedTags,
      })),
    };
  }

  private async getBucket(req: EmulatorRequest, head: boolean): Promise<EmulatorResponse> {
    const rec = this.bucket(req);
    const p = preconditionsFrom(req);
    if (p.ifMatch !== undefined && p.ifMatch !== rec.etag)
      throw noEtagMatch(`The If-Match header does not match the bucket's etag`);
    if (p.ifNoneMatch !== undefined && (p.ifNoneMatch === rec.etag || p.ifNoneMatch === '*')) {
      return { status: 304, headers: { etag: rec.etag } };
    }
    return head
      ? { status: 200, headers: { etag: rec.etag } }
      : { status: 200, headers: { etag: rec.etag }, body: this.bucketBody(rec) };
  }

  private async updateBucket(req: EmulatorRequest): Promise<EmulatorResponse> {
    const rec = this.bucket(req);
    const p = preconditionsFrom(req);
    if (p.ifMatch !== undefined && p.ifMatch !== rec.etag)
      throw noEtagMatch(`The If-Match header does not match the bucket's etag`);
    const d = (await req.json<Record<string, unknown> | null>()) ?? {};
    if (typeof d.name === 'string' && d.name !== rec.id)
      throw new OciApiError(
        400,
        'InvalidParameter',
        'renaming buckets is not supported by the emulator',
      );
    if (d.versioning !== undefined) {
      const v = d.versioning as BucketVersioning;
      if (!bucketVersioning.includes(v))
        throw new OciApiError(400, 'InvalidParameter', `invalid versioning '${String(v)}'`);
      rec.versioning = v;
    }
    if (typeof d.objectEventsEnabled === 'boolean') rec.objectEventsEnabled = d.objectEventsEnabled;
    if (typeof d.publicAccessType === 'string') rec.publicAccessType = d.publicAccessType;
    if (typeof d.compartmentId === 'string') rec.compartmentId = d.compartmentId;
    if (d.metadata && typeof d.metadata === 'object')
      rec.metadata = d.metadata as Record<string, string>;
    if (d.freeformTags && typeof d.freeformTags === 'object')
      rec.freeformTags = d.freeformTags as Record<string, string>;
    if (d.definedTags && typeof d.definedTags === 'object')
      rec.definedTags = d.definedTags as Record<string, Record<string, unknown>>;
    rec.etag = randomUUID();
    this.buckets.put(rec);
    return { status: 200, headers: { etag: rec.etag }, body: this.bucketBody(rec) };
  }

  private async deleteBucket(req: EmulatorRequest): Promise<EmulatorResponse> {
    const rec = this.bucket(req);
    const p = preconditionsFrom(req);
    if (p.ifMatch !== undefined && p.ifMatch !== rec.etag)
      throw noEtagMatch(`The If-Match header does not match the bucket's etag`);
    if (this.objects(rec.id).list().length > 0) {
      throw new OciApiError(
        409,
        'BucketNotEmpty',
        `Bucket named '${rec.id}' is not empty. Delete all objects first.`,
      );
    }
    if (this.uploads.list().some((u) => u.bucket === rec.id)) {
      throw new OciApiError(
        409,
        'BucketNotEmpty',
        `Bucket named '${rec.id}' has pending multipart uploads.`,
      );
    }
    this.buckets.delete(rec.id);
    return { status: 204 };
  }

  private async listObjects(req: EmulatorRequest): Promise<EmulatorResponse> {
    const rec = this.bucket(req);
    const q = req.query;
    const prefix = q.get('prefix') ?? '';
    const start = q.get('start');
    const end = q.get('end');
    const startAfter = q.get('startAfter');
    const delimiter = q.get('delimiter');
    if (delimiter !== null && delimiter !== '/')
      throw new OciApiError(400, 'InvalidParameter', "the only supported delimiter is '/'");
    const limitRaw = q.get('limit');
    const limit = limitRaw === null ? maxListLimit : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > maxListLimit) {
      throw new OciApiError(400, 'InvalidParameter', `limit must be between 1 and ${maxListLimit}`);
    }
    const fields = new Set((q.get('fields') ?? 'name').split(',').map((f) => f.trim()));
    const names = this.objects(rec.id)
      .list()
      .filter((o) => o.id.startsWith(prefix))
      .filter((o) => start === null || o.id >= start)
      .filter((o) => end === null || o.id < end)
      .filter((o) => startAfter === null || o.id > startAfter)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const objects: Record<string, unknown>[] = [];
    const prefixes = new Set<string>();
    let nextStartWith: string | undefined;
    for (const o of names) {
      if (objects.length + prefixes.size >= limit) {
        nextStartWith = o.id;
        break;
      }
      if (delimiter) {
        const rest = o.id.slice(prefix.length);
        const i = rest.indexOf(delimiter);
        if (i >= 0) {
          prefixes.add(prefix + rest.slice(0, i + 1));
          continue;
        }
      }
      const s: Record<string, unknown> = { name: o.id };
      if (fields.has('size')) s.size = o.size;
      if (fields.has('etag')) s.etag = o.etag;
      if (fields.has('md5')) s.md5 = o.md5 ?? o.multipartMd5;
      if (fields.has('timeCreated')) s.timeCreated = o.timeCreated;
      if (fields.has('timeModified')) s.timeModified = o.timeModified;
      if (fields.has('storageTier')) s.storageTier = 'Standard';
      objects.push(s);
    }
    const body: Record<string, unknown> = { objects };
    if (delimiter) body.prefixes = [...prefixes];
    if (nextStartWith !== undefined) body.nextStartWith = nextStartWith;
    return { status: 200, body };
  }

  /** Streams `source` into a new temp file; returns its path, size and base64 MD5. */
  private async spool(source: Readable): Promise<{ path: string; size: number; md5: string }> {
    const path = join(this.tmpDir, randomUUID());
    const hasher = new HashingPassThrough();
    try {
      await pipeline(source, hasher, createWriteStream(path));
    } catch (err) {
      rmSync(path, { force: true });
      throw new OciApiError(
        400,
        'InvalidParameter',
        `upload interrupted: ${(err as Error).message}`,
      );
    }
    return { path, size: hasher.size, md5: hasher.md5.digest('base64') };
  }

  private checkWritePreconditions(
    bucket: string,
    name: string,
    existing: ObjectRecord | undefined,
    p: Preconditions,
  ): void {
    if (p.ifNoneMatch !== undefined) {
      if (p.ifNoneMatch !== '*')
        throw new OciApiError(
          400,
          'InvalidParameter',
          "The only valid value for If-None-Match is '*'",
        );
      if (existing) throw noEtagMatch(`The object '${name}' already exists in bucket '${bucket}'`);
    }
    if (p.ifMatch !== undefined) {
      if (!existing) {
        if ((this.options.ifMatchMissingStatus ?? 404) === 412)
          throw noEtagMatch(`The If-Match header does not match: object '${name}' does not exist`);
        throw notFoundObject(bucket, name);
      }
      if (p.ifMatch !== existing.etag)
        throw noEtagMatch(`The If-Match header '${p.ifMatch}' does not match the object's etag`);
    }
  }

  /** Atomically checks preconditions and installs `tmpPath` as the object's new body. */
  private async install(
    bucket: BucketRecord,
    name: string,
    p: Preconditions,
    tmpPath: string,
    fields: Omit<ObjectRecord, 'id' | 'blob' | 'etag' | 'timeCreated' | 'timeModified'>,
  ): Promise<ObjectRecord> {
    return this.mutex.run(`${bucket.id}\u0000${name}`, () => {
      const objects = this.objects(bucket.id);
      const existing = objects.get(name);
      try {
        this.checkWritePreconditions(bucket.id, name, existing, p);
      } catch (err) {
        rmSync(tmpPath, { force: true });
        throw err;
      }
      const blob = randomUUID();
      renameSync(tmpPath, join(this.blobDir, blob));
      const now = this.ctx.now().toISOString();
      const rec: ObjectRecord = {
        ...fields,
        id: name,
        blob,
        etag: randomUUID(),
        timeCreated: existing?.timeCreated ?? now,
        timeModified: now,
      };
      objects.put(rec);
      // Readers that opened the old blob keep their file descriptor; unlinking is safe.
      if (existing) rmSync(join(this.blobDir, existing.blob), { force: true });
      this.emitObjectEvent(bucket, rec, existing ? 'updateobject' : 'createobject');
      return rec;
    });
  }

  private emitObjectEvent(
    bucket: BucketRecord,
    rec: ObjectRecord,
    kind: 'createobject' | 'updateobject' | 'deleteobject',
  ): void {
    // Objects emit events only when the bucket has "Emit Object Events" on (eventsoverview.htm).
    if (!bucket.objectEventsEnabled) return;
    this.ctx.emitEvent({
      eventType: `com.oraclecloud.objectstorage.${kind}`,
      source: 'objectstorage',
      eventTypeVersion: '2.0',
      extensions: { compartmentId: bucket.compartmentId },
      data: {
        compartmentId: bucket.compartmentId,
        compartmentName: 'dacflow-local',
        resourceName: rec.id,
        resourceId: `/n/${this.ctx.namespace}/b/${bucket.id}/o/${rec.id}`,
        availabilityDomain: 'all',
        freeformTags: {},
        definedTags: {},
        additionalDetails: {
          eTag: rec.etag,
          namespace: this.ctx.namespace,
          bucketName: bucket.id,
          bucketId: bucket.ocid,
          archivalState: 'Available',
        },
      },
    });
  }

  private async putObject(req: EmulatorRequest): Promise<EmulatorResponse> {
    let bucket: BucketRecord;
    try {
      bucket = this.bucket(req);
    } catch (err) {
      req.stream.resume();
      throw err;
    }
    const name = req.params.objectName ?? '';
    const p = preconditionsFrom(req);
    if (p.ifNoneMatch !== undefined && p.ifNoneMatch !== '*') {
      req.stream.resume();
      throw new OciApiError(
        400,
        'InvalidParameter',
        "The only valid value for If-None-Match is '*'",
      );
    }
    const spooled = await this.spool(req.stream);
    const expectedMd5 = header(req, 'content-md5');
    if (expectedMd5 !== undefined && expectedMd5 !== spooled.md5) {
      rmSync(spooled.path, { force: true });
      // Code not confirmed against OCI docs; the status is a 400 in every SDK that checks it.
      throw new OciApiError(
        400,
        'InvalidParameter',
        'The computed MD5 of the request body does not match the Content-MD5 header',
      );
    }
    const rec = await this.install(bucket, name, p, spooled.path, {
      size: spooled.size,
      md5: spooled.md5,
      contentType: header(req, 'content-type') ?? 'application/octet-stream',
      userMetadata: userMetadataFrom(req),
    });
    return {
      status: 200,
      headers: {
        etag: rec.etag,
        'opc-content-md5': spooled.md5,
        'last-modified': new Date(rec.timeModified).toUTCString(),
      },
    };
  }

  private async getObject(req: EmulatorRequest, head: boolean): Promise<EmulatorResponse> {
    const bucket = this.bucket(req);
    const name = req.params.objectName ?? '';
    const rec = this.objects(bucket.id).get(name);
    if (!rec) throw notFoundObject(bucket.id, name);
    const p = preconditionsFrom(req);
    if (p.ifMatch !== undefined && p.ifMatch !== rec.etag)
      throw noEtagMatch(`The If-Match header does not match the object's etag`);
    const headers: Record<string, string | number> = {
      etag: rec.etag,
      'last-modified': new Date(rec.timeModified).toUTCString(),
      'content-type': rec.contentType,
      'accept-ranges': 'bytes',
      'storage-tier': 'Standard',
      ...rec.userMetadata,
    };
    if (rec.md5) headers['content-md5'] = rec.md5;
    if (rec.multipartMd5) headers['opc-multipart-md5'] = rec.multipartMd5;
    if (p.ifNoneMatch !== undefined) {
      if (p.ifNoneMatch === '*')
        throw new OciApiError(
          400,
          'InvalidParameter',
          'If-None-Match does not allow wildcards on GET',
        );
      if (p.ifNoneMatch === rec.etag) return { status: 304, headers: { etag: rec.etag } };
    }
    if (head) return { status: 200, headers: { ...headers, 'content-length': rec.size } };
    // Open synchronously so a concurrent overwrite cannot unlink the blob before we hold it.
    const fd = openSync(join(this.blobDir, rec.blob), 'r');
    const size = fstatSync(fd).size;
    const range = header(req, 'range');
    if (range !== undefined) {
      let r;
      try {
        r = parseRange(range, size);
      } catch (err) {
        closeSync(fd);
        throw err;
      }
      if (r) {
        return {
          status: 206,
          headers: {
            ...headers,
            'content-length': r.end - r.start + 1,
            'content-range': `bytes ${r.start}-${r.end}/${size}`,
          },
          body: createReadStream('', { fd, start: r.start, end: r.end }),
        };
      }
    }
    return {
      status: 200,
      headers: { ...headers, 'content-length': size },
      body: createReadStream('', { fd }),
    };
  }

  private async deleteObject(req: EmulatorRequest): Promise<EmulatorResponse> {
    const bucket = this.bucket(req);
    const name = req.params.objectName ?? '';
    const p = preconditionsFrom(req);
    return this.mutex.run(`${bucket.id}\u0000${name}`, () => {
      const objects = this.objects(bucket.id);
      const rec = objects.get(name);
      if (!rec) throw notFoundObject(bucket.id, name);
      if (p.ifMatch !== undefined && p.ifMatch !== rec.etag)
        throw noEtagMatch(`The If-Match header does not match the object's etag`);
      objects.delete(name);
      rmSync(join(this.blobDir, rec.blob), { force: true });
      this.emitObjectEvent(bucket, rec, 'deleteobject');
      return { status: 204, headers: { 'last-modified': this.ctx.now().toUTCString() } };
    });
  }

  private upload(req: EmulatorRequest, bucket: BucketRecord): UploadRecord {
    const uploadId = req.query.get('uploadId');
    if (!uploadId) throw new OciApiError(400, 'MissingParameter', 'uploadId is required');
    const u = this.uploads.get(uploadId);
    if (!u || u.bucket !== bucket.id || u.object !== req.params.objectName) {
      throw new OciApiError(404, 'NoSuchUpload', `The upload '${uploadId}' does not exist`);
    }
    return u;
  }

  private async createUpload(req: EmulatorRequest): Promise<EmulatorResponse> {
    const bucket = this.bucket(req);
    const d = await req.json<Record<string, unknown> | null>();
    if (!d || typeof d.object !== 'string' || d.object === '')
      throw new OciApiError(400, 'MissingParameter', 'object is required');
    const existing = this.objects(bucket.id).get(d.object);
    this.checkWritePreconditions(bucket.id, d.object, existing, preconditionsFrom(req));
    const u: UploadRecord = {
      id: randomUUID(),
      bucket: bucket.id,
      object: d.object,
      timeCreated: this.ctx.now().toISOString(),
      contentType: typeof d.contentType === 'string' ? d.contentType : 'application/octet-stream',
      userMetadata: (d.metadata as Record<string, string>) ?? {},
      parts: {},
    };
    mkdirSync(this.uploadDir(u.id), { recursive: true });
    this.uploads.put(u);
    return {
      status: 200,
      headers: {
        location: `/n/${this.ctx.namespace}/b/${bucket.id}/u/${encodeURIComponent(u.object)}?uploadId=${u.id}`,
      },
      body: this.uploadBody(u),
    };
  }

  private uploadBody(u: UploadRecord): Record<string, unknown> {
    return {
      namespace: this.ctx.namespace,
      bucket: u.bucket,
      object: u.object,
      uploadId: u.id,
      timeCreated: u.timeCreated,
      storageTier: 'Standard',
    };
  }

  private async listUploads(req: EmulatorRequest): Promise<EmulatorResponse> {
    const bucket = this.bucket(req);
    return {
      status: 200,
      body: this.uploads
        .list()
        .filter((u) => u.bucket === bucket.id)
        .map((u) => this.uploadBody(u)),
    };
  }

  private async uploadPart(req: EmulatorRequest): Promise<EmulatorResponse> {
    let u: UploadRecord;
    let partNum: number;
    try {
      const bucket = this.bucket(req);
      u = this.upload(req, bucket);
      partNum = Number(req.query.get('uploadPartNum'));
      if (!Number.isInteger(partNum) || partNum < 1 || partNum > 10000) {
        throw new OciApiError(
          400,
          'InvalidParameter',
          'uploadPartNum must be an integer from 1 to 10000',
        );
      }
    } catch (err) {
      req.stream.resume();
      throw err;
    }
    const spooled = await this.spool(req.stream);
    const expectedMd5 = header(req, 'content-md5');
    if (expectedMd5 !== undefined && expectedMd5 !== spooled.md5) {
      rmSync(spooled.path, { force: true });
      throw new OciApiError(
        400,
        'InvalidParameter',
        'The computed MD5 of the request body does not match the Content-MD5 header',
      );
    }
    return this.mutex.run(`upload\u0000${u.id}`, () => {
      const current = this.uploads.get(u.id);
      if (!current) {
        rmSync(spooled.path, { force: true });
        throw new OciApiError(404, 'NoSuchUpload', `The upload '${u.id}' does not exist`);
      }
      renameSync(spooled.path, join(this.uploadDir(u.id), String(partNum)));
      const etag = randomUUID();
      current.parts[String(partNum)] = { etag, size: spooled.size, md5: spooled.md5 };
      this.uploads.put(current);
      return { status: 200, headers: { etag, 'opc-content-md5': spooled.md5 } };
    });
  }

  private async listParts(req: EmulatorRequest): Promise<EmulatorResponse> {
    const bucket = this.bucket(req);
    const u = this.upload(req, bucket);
    const parts = Object.entries(u.parts)
      .map(([n, p]) => ({ partNumber: Number(n), etag: p.etag, size: p.size, md5: p.md5 }))
      .sort((a, b) => a.partNumber - b.partNumber);
    return { status: 200, body: parts };
  }

  private async commitUpload(req: EmulatorRequest): Promise<EmulatorResponse> {
    const bucket = this.bucket(req);
    const u = this.upload(req, bucket);
    const d = await req.json<{
      partsToCommit?: { partNum: number; etag: string }[];
      partsToExclude?: number[];
    } | null>();
    const parts = d?.partsToCommit;
    if (!Array.isArray(parts) || parts.length === 0)
      throw new OciApiError(400, 'MissingParameter', 'partsToCommit is required');
    const sorted = [...parts].sort((a, b) => a.partNum - b.partNum);
    for (const p of sorted) {
      const stored = u.parts[String(p.partNum)];
      if (!stored || stored.etag !== p.etag) {
        throw new OciApiError(
          400,
          'InvalidParameter',
          `part ${p.partNum} does not exist or its etag does not match`,
        );
      }
    }
    // Concatenate the parts into one temp blob, streaming.
    const tmp = join(this.tmpDir, randomUUID());
    const out = createWriteStream(tmp);
    const md5s = createHash('md5');
    let size = 0;
    try {
      for (const p of sorted) {
        const stored = u.parts[String(p.partNum)] as { etag: string; size: number; md5: string };
        md5s.update(Buffer.from(stored.md5, 'base64'));
        size += stored.size;
        await pipeline(createReadStream(join(this.uploadDir(u.id), String(p.partNum))), out, {
          end: false,
        });
      }
      await new Promise<void>((resolve, reject) =>
        out.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      out.destroy();
      rmSync(tmp, { force: true });
      throw err;
    }
    const multipartMd5 = `${md5s.digest('base64')}-${sorted.length}`;
    const rec = await this.install(bucket, u.object, preconditionsFrom(req), tmp, {
      size,
      multipartMd5,
      contentType: u.contentType,
      userMetadata: u.userMetadata,
    });
    this.uploads.delete(u.id);
    rmSync(this.uploadDir(u.id), { recursive: true, force: true });
    return {
      status: 200,
      headers: {
        etag: rec.etag,
        'opc-multipart-md5': multipartMd5,
        'last-modified': new Date(rec.timeModified).toUTCString(),
      },
    };
  }

  private async abortUpload(req: EmulatorRequest): Promise<EmulatorResponse> {
    const bucket = this.bucket(req);
    const u = this.upload(req, bucket);
    this.uploads.delete(u.id);
    rmSync(this.uploadDir(u.id), { recursive: true, force: true });
    return { status: 204 };
  }
}
