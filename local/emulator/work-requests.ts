/**
 * Work requests of the emulated control-plane services (Generative AI, Data Science), one copy for
 * both. A work request is stored as timestamps (accepted, started, finished); its status,
 * `percentComplete`, logs and errors are computed when it is read, from those timestamps and the
 * state of the entity it works on, so a restarted emulator reports the work a previous one started.
 * What differs between the services (OCID type, entity names, field order, list parameters) is data
 * in a `WorkRequestDialect`, taken from each SDK's models and requests.
 */
import { notFound, requireCompartment } from './request-helpers.ts';
import type {
  Collection,
  EmulatorContext,
  EmulatorRequest,
  EmulatorResponse,
  Route,
} from './service.ts';

/** What the work does to its entity, reported as the resource's `actionType` once it succeeds. */
export type WorkRequestAction = 'CREATED' | 'UPDATED' | 'DELETED';

export const WorkRequestStatus = {
  Accepted: 'ACCEPTED',
  InProgress: 'IN_PROGRESS',
  Succeeded: 'SUCCEEDED',
  Failed: 'FAILED',
} as const;
export type WorkRequestStatus = (typeof WorkRequestStatus)[keyof typeof WorkRequestStatus];

export interface WorkRequestFailure {
  code: string;
  message: string;
}

/** The fields every service stores alike. */
export interface WorkRequestTimes {
  id: string;
  operationType: string;
  compartmentId: string;
  entityId: string;
  action: WorkRequestAction;
  acceptedMs: number;
  startMs: number;
  finishMs: number;
}

/** The record field naming the entity's kind: `entityKind` (Generative AI), `entityType` (DS). */
export type KindField = 'entityKind' | 'entityType';

/** A work request as persisted: the common fields and the entity's kind in the service's field. */
export type StoredWorkRequest<K extends string, F extends KindField> = WorkRequestTimes &
  Record<F, K>;

export interface WorkRequestEntitySpec {
  /** `WorkRequestResource.entityType` as the service reports it. */
  entityType: string;
  /** The collection's path segment in `entityUri`, e.g. `modelDeployments`. */
  uriSegment: string;
  /**
   * The error code when the entity ends FAILED or NEEDS_ATTENTION. Without one the service does
   * not track the outcome on the entity: its work requests always succeed.
   */
  failureCode?: string;
}

/**
 * How one service spells its work requests: names, parameters and field order from its SDK's models
 * and requests, its OCID type, and the field its stored records keep the entity's kind under.
 */
export interface WorkRequestDialect<K extends string, F extends KindField> {
  /** The resource type of work-request OCIDs, e.g. `generativeaiworkrequest`. */
  ocidType: string;
  /** The API version path prefix of routes and entity URIs, e.g. `/20231130`. */
  api: string;
  kindField: F;
  entities: Record<K, WorkRequestEntitySpec>;
  /**
   * The resource's `actionType` once its work request FAILED. Generative AI's `ActionType` has
   * FAILED; Data Science's `WorkRequestResource.ActionType` has not, so the resource stays RELATED.
   */
  failedActionType: 'FAILED' | 'RELATED';
  /**
   * `percentComplete` before `resources` in the JSON, as the SDK model declares them (Data
   * Science); kept so bodies and etags stay as they were before the services shared this code.
   */
  percentBeforeResources: boolean;
  /** ListWorkRequests parameters besides compartmentId and status, and the field each matches. */
  listFilters: Readonly<Record<string, 'id' | 'entityId' | 'operationType'>>;
  /** ListWorkRequests `sortBy` values; the default is `timeAccepted`. */
  listSortBy: readonly string[];
  /** Whether ListWorkRequestErrors and ListWorkRequestLogs take `sortBy=timestamp`, `sortOrder`. */
  sortsErrorsAndLogs: boolean;
}

/** When work lasting `durationMs` from `nowMs` is accepted, starts (after a tenth) and finishes. */
export function workRequestSchedule(
  nowMs: number,
  durationMs: number,
): Pick<WorkRequestTimes, 'acceptedMs' | 'startMs' | 'finishMs'> {
  return {
    acceptedMs: nowMs,
    startMs: nowMs + Math.floor(durationMs / 10),
    finishMs: nowMs + durationMs,
  };
}

/** Status and `percentComplete` at `nowMs`: rising linearly from the start, 100 once finished. */
export function workRequestProgress(
  wr: WorkRequestTimes,
  nowMs: number,
  failed: boolean,
): { status: WorkRequestStatus; percentComplete: number } {
  if (nowMs >= wr.finishMs) {
    return {
      status: failed ? WorkRequestStatus.Failed : WorkRequestStatus.Succeeded,
      percentComplete: 100,
    };
  }
  if (nowMs >= wr.startMs) {
    const span = Math.max(1, wr.finishMs - wr.startMs);
    return {
      status: WorkRequestStatus.InProgress,
      percentComplete: Math.min(99, Math.floor(((nowMs - wr.startMs) / span) * 100)),
    };
  }
  return { status: WorkRequestStatus.Accepted, percentComplete: 0 };
}

function entityUriOf<K extends string, F extends KindField>(
  dialect: WorkRequestDialect<K, F>,
  wr: StoredWorkRequest<K, F>,
): string {
  return `${dialect.api}/${dialect.entities[wr[dialect.kindField]].uriSegment}/${wr.entityId}`;
}

/**
 * The `WorkRequest` JSON at `nowMs`; `failure` is set when the work failed. `entityUri` defaults to
 * the entity's path on the service's API.
 */
export function workRequestView<K extends string, F extends KindField>(
  dialect: WorkRequestDialect<K, F>,
  wr: StoredWorkRequest<K, F>,
  nowMs: number,
  failure: WorkRequestFailure | undefined,
  entityUri = entityUriOf(dialect, wr),
): Record<string, unknown> {
  const { status, percentComplete } = workRequestProgress(wr, nowMs, failure !== undefined);
  const finished = nowMs >= wr.finishMs;
  const actionType = !finished ? 'IN_PROGRESS' : failure ? dialect.failedActionType : wr.action;
  const resources = [
    {
      entityType: dialect.entities[wr[dialect.kindField]].entityType,
      actionType,
      identifier: wr.entityId,
      entityUri,
    },
  ];
  const view: Record<string, unknown> = {
    id: wr.id,
    operationType: wr.operationType,
    status,
    compartmentId: wr.compartmentId,
  };
  if (dialect.percentBeforeResources) Object.assign(view, { percentComplete, resources });
  else Object.assign(view, { resources, percentComplete });
  view.timeAccepted = new Date(wr.acceptedMs).toISOString();
  if (nowMs >= wr.startMs) view.timeStarted = new Date(wr.startMs).toISOString();
  if (finished) view.timeFinished = new Date(wr.finishMs).toISOString();
  return view;
}

/** Log lines of a work request that have happened by `nowMs`. */
export function workRequestLogs(
  wr: WorkRequestTimes,
  nowMs: number,
  failure: WorkRequestFailure | undefined,
): { message: string; timestamp: string }[] {
  const at = (ms: number) => new Date(ms).toISOString();
  const logs = [{ message: `${wr.operationType} accepted`, timestamp: at(wr.acceptedMs) }];
  if (nowMs >= wr.startMs)
    logs.push({ message: `${wr.operationType} started`, timestamp: at(wr.startMs) });
  if (nowMs >= wr.finishMs) {
    logs.push({
      message: `${wr.operationType} ${failure ? 'failed' : 'succeeded'}`,
      timestamp: at(wr.finishMs),
    });
  }
  return logs;
}

/** The errors of a work request: its failure, once it has one, stamped when the work finished. */
export function workRequestErrors(
  wr: WorkRequestTimes,
  failure: WorkRequestFailure | undefined,
): { code: string; message: string; timestamp: string }[] {
  return failure
    ? [
        {
          code: failure.code,
          message: failure.message,
          timestamp: new Date(wr.finishMs).toISOString(),
        },
      ]
    : [];
}

/** The states of an entity that fail the work on it. */
const failedStates: ReadonlySet<string> = new Set(['FAILED', 'NEEDS_ATTENTION']);

/**
 * The failure of a finished work request from its entity as it is now: FAILED or NEEDS_ATTENTION
 * fails it with the entity's details; an entity that is gone fails it unless the work deleted it.
 */
export function workRequestFailure(
  wr: WorkRequestTimes,
  failureCode: string,
  entity: { lifecycleState: string; lifecycleDetails?: string | undefined } | undefined,
): WorkRequestFailure | undefined {
  if (!entity) {
    return wr.action === 'DELETED'
      ? undefined
      : { code: 'ResourceNotFound', message: `${wr.entityId} no longer exists` };
  }
  if (failedStates.has(entity.lifecycleState)) {
    return {
      code: failureCode,
      message: entity.lifecycleDetails ?? `${wr.entityId} is ${entity.lifecycleState}`,
    };
  }
  return undefined;
}

/** A service's list response: its sorting, paging and envelope. No `sort`: page only. */
export type ListResponder = (
  req: EmulatorRequest,
  items: Record<string, unknown>[],
  sort?: { sortable: readonly string[]; defaultSortBy: string },
) => EmulatorResponse;

export interface WorkRequestDeps<K extends string> {
  ctx: Pick<EmulatorContext, 'now' | 'newOcid' | 'collection'>;
  /** The persisted collection's name, e.g. `genai-work-requests`. */
  collection: string;
  /** The entity as it is now (due lifecycle changes applied), or undefined when it is gone. */
  loadEntity(
    kind: K,
    id: string,
  ): { lifecycleState: string; lifecycleDetails?: string | undefined } | undefined;
  respond: ListResponder;
  /** genai-core's `etagOf`, handed in because genai-core imports this module. */
  etagOf(view: unknown): string;
}

/** A service's work requests: creating and ending them, and the four work-request operations. */
export class WorkRequests<K extends string, F extends KindField> {
  private readonly store: Collection<StoredWorkRequest<K, F>>;

  constructor(
    private readonly dialect: WorkRequestDialect<K, F>,
    private readonly deps: WorkRequestDeps<K>,
  ) {
    this.store = deps.ctx.collection<StoredWorkRequest<K, F>>(deps.collection);
  }

  private nowMs(): number {
    return this.deps.ctx.now().getTime();
  }

  /** Records work on an entity that starts after a tenth of `durationMs`, ends after all of it. */
  create(
    operationType: string,
    kind: K,
    entityId: string,
    compartmentId: string,
    action: WorkRequestAction,
    durationMs: number,
  ): StoredWorkRequest<K, F> {
    // Field order as the services always stored it (the kind field third).
    const wr = {
      id: this.deps.ctx.newOcid(this.dialect.ocidType),
      operationType,
      compartmentId,
      [this.dialect.kindField]: kind,
      entityId,
      action,
      ...workRequestSchedule(this.nowMs(), durationMs),
    } as StoredWorkRequest<K, F>;
    this.store.put(wr);
    return wr;
  }

  /** Ends the unfinished work requests of an entity now (its state was forced). */
  finishAllOf(entityId: string): void {
    const now = this.nowMs();
    for (const wr of this.store.list()) {
      if (wr.entityId !== entityId || wr.finishMs <= now) continue;
      wr.finishMs = now;
      wr.startMs = Math.min(wr.startMs, now);
      this.store.put(wr);
    }
  }

  /** GetWorkRequest, ListWorkRequests, ListWorkRequestErrors and ListWorkRequestLogs. */
  routes(): Route[] {
    const base = `${this.dialect.api}/workRequests`;
    const route = (
      path: string,
      operation: string,
      handler: (req: EmulatorRequest) => EmulatorResponse,
    ): Route => ({ method: 'GET', path: base + path, operation, handler: async (q) => handler(q) });
    return [
      route('', 'ListWorkRequests', (q) => this.list(q)),
      route('/{workRequestId}', 'GetWorkRequest', (q) => this.get(q)),
      route('/{workRequestId}/errors', 'ListWorkRequestErrors', (q) => this.errors(q)),
      route('/{workRequestId}/logs', 'ListWorkRequestLogs', (q) => this.logs(q)),
    ];
  }

  private failure(wr: StoredWorkRequest<K, F>): WorkRequestFailure | undefined {
    if (this.nowMs() < wr.finishMs) return undefined;
    const kind = wr[this.dialect.kindField];
    const code = this.dialect.entities[kind].failureCode;
    if (code === undefined) return undefined;
    return workRequestFailure(wr, code, this.deps.loadEntity(kind, wr.entityId));
  }

  private view(wr: StoredWorkRequest<K, F>): Record<string, unknown> {
    return workRequestView(this.dialect, wr, this.nowMs(), this.failure(wr));
  }

  private require(req: EmulatorRequest): StoredWorkRequest<K, F> {
    const id = req.params.workRequestId ?? '';
    const wr = this.store.get(id);
    if (!wr) throw notFound('Work request', id);
    return wr;
  }

  private get(req: EmulatorRequest): EmulatorResponse {
    const view = this.view(this.require(req));
    const headers: Record<string, string | number> = { etag: this.deps.etagOf(view) };
    // Unfinished work: tell pollers when to look again.
    if (view.timeFinished === undefined) headers['retry-after'] = 1;
    return { status: 200, headers, body: view };
  }

  private list(req: EmulatorRequest): EmulatorResponse {
    const compartmentId = requireCompartment(req);
    const filters = Object.entries(this.dialect.listFilters).flatMap(([param, field]) => {
      const value = req.query.get(param);
      return value ? [[field, value] as const] : [];
    });
    const status = req.query.get('status');
    const items = this.store
      .list()
      .filter((wr) => wr.compartmentId === compartmentId && filters.every(([f, v]) => wr[f] === v))
      .map((wr) => this.view(wr))
      .filter((v) => !status || v.status === status);
    return this.deps.respond(req, items, {
      sortable: this.dialect.listSortBy,
      defaultSortBy: 'timeAccepted',
    });
  }

  private errors(req: EmulatorRequest): EmulatorResponse {
    const wr = this.require(req);
    return this.respondEntries(req, workRequestErrors(wr, this.failure(wr)));
  }

  private logs(req: EmulatorRequest): EmulatorResponse {
    const wr = this.require(req);
    return this.respondEntries(req, workRequestLogs(wr, this.nowMs(), this.failure(wr)));
  }

  private respondEntries(req: EmulatorRequest, items: Record<string, unknown>[]): EmulatorResponse {
    return this.dialect.sortsErrorsAndLogs
      ? this.deps.respond(req, items, { sortable: ['timestamp'], defaultSortBy: 'timestamp' })
      : this.deps.respond(req, items);
  }
}
