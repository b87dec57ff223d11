/**
 * Record shapes and small deterministic helpers of the emulated Generative AI service: lifecycle
 * transitions computed from timestamps (so a restart never strands a CREATING resource), how its
 * work requests are spelled, etags, paging and retry-token fingerprints. No I/O.
 */
import { createHash } from 'node:crypto';
import { OciApiError } from './service.ts';
import {
  workRequestView as sharedWorkRequestView,
  type StoredWorkRequest,
  type WorkRequestDialect,
  type WorkRequestFailure,
} from './work-requests.ts';

export const ClusterState = {
  Creating: 'CREATING',
  Active: 'ACTIVE',
  Updating: 'UPDATING',
  Deleting: 'DELETING',
  Deleted: 'DELETED',
  Failed: 'FAILED',
  NeedsAttention: 'NEEDS_ATTENTION',
} as const;
export type ClusterState = (typeof ClusterState)[keyof typeof ClusterState];

export const ModelState = {
  Active: 'ACTIVE',
  Creating: 'CREATING',
  Deleting: 'DELETING',
  Deleted: 'DELETED',
  Failed: 'FAILED',
} as const;
export type ModelState = (typeof ModelState)[keyof typeof ModelState];

export const EndpointState = {
  Active: 'ACTIVE',
  Creating: 'CREATING',
  Updating: 'UPDATING',
  Deleting: 'DELETING',
  Deleted: 'DELETED',
  Failed: 'FAILED',
} as const;
export type EndpointState = (typeof EndpointState)[keyof typeof EndpointState];

type Tags = Record<string, string>;
type DefinedTags = Record<string, Record<string, unknown>>;

/** A state change that happens at `atMs`; `patch` is merged into the record then. */
export interface Transition<R> {
  atMs: number;
  patch: Partial<R>;
}

interface Lifecycle<R> {
  id: string;
  lifecycleState: string;
  lifecycleDetails?: string;
  timeUpdated?: string;
  transition?: Transition<R>;
}

export interface ClusterRecord extends Lifecycle<ClusterRecord> {
  displayName: string;
  description?: string;
  type: 'HOSTING' | 'FINE_TUNING';
  compartmentId: string;
  timeCreated: string;
  unitCount: number;
  unitShape: string;
  freeformTags: Tags;
  definedTags: DefinedTags;
}

export interface ModelRecord extends Lifecycle<ModelRecord> {
  displayName: string;
  description?: string;
  compartmentId: string;
  capabilities: string[];
  vendor?: string;
  version?: string;
  timeCreated: string;
  baseModelId: string;
  type: 'CUSTOM';
  fineTuneDetails: Record<string, unknown>;
  modelMetrics?: { modelMetricsType: string; finalAccuracy: number; finalLoss: number };
  freeformTags: Tags;
  definedTags: DefinedTags;
}

export interface EndpointRecord extends Lifecycle<EndpointRecord> {
  displayName: string;
  description?: string;
  modelId: string;
  /** The base model the endpoint's model derives from (all endpoints of a cluster share it). */
  baseModelId: string;
  compartmentId: string;
  dedicatedAiClusterId: string;
  generativeAiPrivateEndpointId?: string;
  timeCreated: string;
  contentModerationConfig?: Record<string, unknown>;
  promptInjectionConfig?: Record<string, unknown>;
  piiDetectionConfig?: Record<string, unknown>;
  freeformTags: Tags;
  definedTags: DefinedTags;
}

export type EntityKind = 'cluster' | 'model' | 'endpoint';

export type WorkRequestRecord = StoredWorkRequest<EntityKind, 'entityKind'>;

/** Generative AI's work requests as oci-generativeai's models and requests spell them. */
export const genAiWorkRequests: WorkRequestDialect<EntityKind, 'entityKind'> = {
  ocidType: 'generativeaiworkrequest',
  api: '/20231130',
  kindField: 'entityKind',
  entities: {
    cluster: {
      entityType: 'DedicatedAiCluster',
      uriSegment: 'dedicatedAiClusters',
      failureCode: 'WorkRequestFailed',
    },
    model: { entityType: 'Model', uriSegment: 'models', failureCode: 'FineTuningFailed' },
    endpoint: { entityType: 'Endpoint', uriSegment: 'endpoints', failureCode: 'WorkRequestFailed' },
  },
  failedActionType: 'FAILED',
  percentBeforeResources: false,
  listFilters: { resourceId: 'entityId', workRequestId: 'id' },
  listSortBy: ['timeAccepted'],
  sortsErrorsAndLogs: true,
};

/**
 * The `WorkRequest` JSON at `nowMs` with the given `entityUri`. `failure` is set when the entity
 * ended FAILED. The service itself goes through `WorkRequests` (work-requests.ts).
 */
export function workRequestView(
  wr: WorkRequestRecord,
  nowMs: number,
  entityUri: string,
  failure: WorkRequestFailure | undefined,
): Record<string, unknown> {
  return sharedWorkRequestView(genAiWorkRequests, wr, nowMs, failure, entityUri);
}

/** Applies a due transition; returns true when the record changed (and must be persisted). */
export function settle<R extends Lifecycle<R>>(record: R, nowMs: number): boolean {
  const t = record.transition;
  if (!t || nowMs < t.atMs) return false;
  Object.assign(record, t.patch);
  record.timeUpdated = new Date(t.atMs).toISOString();
  delete record.transition;
  return true;
}

export const liveStates: ReadonlySet<string> = new Set([
  'CREATING',
  'ACTIVE',
  'UPDATING',
  'DELETING',
]);

/** The view an OCI client sees: internal fields dropped. */
export function publicView<R extends object>(
  record: R,
  drop: string[] = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (k === 'transition' || drop.includes(k) || v === undefined) continue;
    out[k] = v;
  }
  return out;
}

/** A strong etag over the resource as clients see it: any change (including state) changes it. */
export function etagOf(view: unknown): string {
  return createHash('sha256').update(JSON.stringify(view)).digest('hex').slice(0, 32);
}

/** OCI's If-Match: absent or `*` passes; anything else must equal the current etag. */
export function checkIfMatch(ifMatch: string | string[] | undefined, etag: string): void {
  const value = Array.isArray(ifMatch) ? ifMatch[0] : ifMatch;
  if (value === undefined || value === '' || value === '*') return;
  if (value.replace(/^W\//, '').replace(/"/g, '') !== etag) {
    throw new OciApiError(
      412,
      'NoEtagMatch',
      'The resource has changed since it was read: the If-Match etag does not match the current etag.',
    );
  }
}

/** The SHA-256 of a JSON value with object keys sorted, so key order never changes the fingerprint. */
export function canonicalHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A number in [0, 1) derived from a string: deterministic "randomness" for metrics. */
export function unitHash(s: string, salt: string): number {
  return createHash('sha256').update(`${salt}:${s}`).digest().readUInt32BE(0) / 2 ** 32;
}

export interface PageRequest {
  limit?: string | null;
  page?: string | null;
}

/** OCI-style paging: `limit` items from the opaque `page` token; `next` when more remain. */
export function paginate<T>(items: T[], req: PageRequest): { items: T[]; next?: string } {
  const limit = req.limit == null || req.limit === '' ? 100 : Number(req.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new OciApiError(400, 'InvalidParameter', 'limit must be an integer from 1 to 1000');
  }
  let offset = 0;
  if (req.page != null && req.page !== '') {
    const text = Buffer.from(req.page, 'base64url').toString('utf8');
    const decoded = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(decoded)) {
      throw new OciApiError(400, 'InvalidParameter', 'page is not a token from opc-next-page');
    }
    offset = decoded;
  }
  const slice = items.slice(offset, offset + limit);
  const nextOffset = offset + slice.length;
  return nextOffset < items.length
    ? { items: slice, next: Buffer.from(String(nextOffset), 'utf8').toString('base64url') }
    : { items: slice };
}

/** Sorts list items as OCI's list operations do: `timeCreated` descending unless asked otherwise. */
export function sortItems<T extends Record<string, unknown>>(
  items: T[],
  sortBy: string | null,
  sortOrder: string | null,
  allowed: readonly string[],
  defaultSortBy = 'timeCreated',
): T[] {
  const by = sortBy ?? defaultSortBy;
  if (!allowed.includes(by)) {
    throw new OciApiError(400, 'InvalidParameter', `sortBy must be one of ${allowed.join(', ')}`);
  }
  const order = sortOrder ?? (by === 'timeCreated' || by === 'timeAccepted' ? 'DESC' : 'ASC');
  if (order !== 'ASC' && order !== 'DESC') {
    throw new OciApiError(400, 'InvalidParameter', 'sortOrder must be ASC or DESC');
  }
  const sign = order === 'ASC' ? 1 : -1;
  return [...items].sort((a, b) => {
    const x = String(a[by] ?? '');
    const y = String(b[by] ?? '');
    if (x !== y) return x < y ? -sign : sign;
    const ia = String(a.id);
    const ib = String(b.id);
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
}
