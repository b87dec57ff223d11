import { fc, test } from '@fast-check/vitest';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { models as dsModels, requests as dsRequests } from 'oci-datascience';
import { models as genAiModels, requests as genAiRequests } from 'oci-generativeai';
import { dataScienceWorkRequests } from '#local/emulator/datascience-core.ts';
import { etagOf, genAiWorkRequests } from '#local/emulator/genai-core.ts';
import {
  OciApiError,
  type EmulatorRequest,
  type EmulatorResponse,
  type Route,
} from '#local/emulator/service.ts';
import { MemoryStore, fakeContext } from '../ds-emulator/fake-context.ts';
import {
  WorkRequests,
  workRequestFailure,
  workRequestLogs,
  workRequestProgress,
  workRequestSchedule,
  workRequestView,
  type KindField,
  type ListResponder,
  type WorkRequestDialect,
  type WorkRequestTimes,
} from '#local/emulator/work-requests.ts';

function request(
  params: Record<string, string>,
  query = '',
  headers: Record<string, string> = {},
): EmulatorRequest {
  return {
    method: 'GET',
    rawPath: '/',
    params,
    query: new URLSearchParams(query),
    headers,
    requestId: 'r',
    body: async () => Buffer.alloc(0),
    json: async <T>() => null as T,
    stream: Readable.from([]),
    raw: {} as IncomingMessage,
  };
}

const times = (over: Partial<WorkRequestTimes> = {}): WorkRequestTimes => ({
  id: 'wr1',
  operationType: 'CREATE_THING',
  compartmentId: 'c',
  entityId: 'e1',
  action: 'CREATED',
  acceptedMs: 0,
  startMs: 100,
  finishMs: 1_100,
  ...over,
});

describe('workRequestSchedule and workRequestProgress', () => {
  test.prop([
    fc.integer({ min: 0, max: 10 ** 12 }),
    fc.integer({ min: 0, max: 10 ** 7 }),
    fc.array(fc.integer({ min: -1_000, max: 2 * 10 ** 7 }), { minLength: 2, maxLength: 20 }),
  ])(
    'status moves forward only and percentComplete rises to 100 exactly when finished',
    (nowMs, durationMs, offsets) => {
      const wr = times(workRequestSchedule(nowMs, durationMs));
      expect(wr.acceptedMs).toBe(nowMs);
      expect(wr.acceptedMs).toBeLessThanOrEqual(wr.startMs);
      expect(wr.startMs).toBeLessThanOrEqual(wr.finishMs);
      const order = ['ACCEPTED', 'IN_PROGRESS', 'SUCCEEDED'];
      let last = { rank: -1, percent: -1 };
      for (const at of [...offsets].sort((a, b) => a - b).map((o) => nowMs + o)) {
        const p = workRequestProgress(wr, at, false);
        const rank = order.indexOf(p.status);
        expect(rank).toBeGreaterThanOrEqual(last.rank);
        expect(p.percentComplete).toBeGreaterThanOrEqual(last.percent);
        expect(p.percentComplete === 100).toBe(at >= wr.finishMs);
        last = { rank, percent: p.percentComplete };
      }
    },
  );

  it('starts after a tenth of the duration and is FAILED at the end when the work failed', () => {
    expect(workRequestSchedule(1_000, 95)).toEqual({
      acceptedMs: 1_000,
      startMs: 1_009,
      finishMs: 1_095,
    });
    const wr = times();
    expect(workRequestProgress(wr, 99, true)).toEqual({ status: 'ACCEPTED', percentComplete: 0 });
    expect(workRequestProgress(wr, 600, true)).toEqual({
      status: 'IN_PROGRESS',
      percentComplete: 50,
    });
    expect(workRequestProgress(wr, 1_100, true)).toEqual({
      status: 'FAILED',
      percentComplete: 100,
    });
  });
});

describe('workRequestView', () => {
  const genAi = { ...times(), entityKind: 'model' as const };
  const ds = { ...times(), entityType: 'modelDeployment' as const };
  const failed = { code: 'X', message: 'm' };

  it('names the entity and its URI as each service does', () => {
    expect(workRequestView(genAiWorkRequests, genAi, 0, undefined).resources).toEqual([
      {
        entityType: 'Model',
        actionType: 'IN_PROGRESS',
        identifier: 'e1',
        entityUri: '/20231130/models/e1',
      },
    ]);
    expect(workRequestView(dataScienceWorkRequests, ds, 0, undefined).resources).toEqual([
      {
        entityType: 'modelDeployment',
        actionType: 'IN_PROGRESS',
        identifier: 'e1',
        entityUri: '/20190101/modelDeployments/e1',
      },
    ]);
  });

  it('reports the action once done, and a failure as each SDK can spell it', () => {
    const action = (view: Record<string, unknown>) =>
      (view.resources as { actionType: string }[])[0]?.actionType;
    expect(action(workRequestView(genAiWorkRequests, genAi, 2_000, undefined))).toBe('CREATED');
    expect(action(workRequestView(genAiWorkRequests, genAi, 2_000, failed))).toBe('FAILED');
    expect(action(workRequestView(dataScienceWorkRequests, ds, 2_000, undefined))).toBe('CREATED');
    expect(action(workRequestView(dataScienceWorkRequests, ds, 2_000, failed))).toBe('RELATED');
  });

  it('orders fields as each SDK model declares them and adds times as they pass', () => {
    expect(Object.keys(workRequestView(genAiWorkRequests, genAi, 50, undefined))).toEqual([
      'id',
      'operationType',
      'status',
      'compartmentId',
      'resources',
      'percentComplete',
      'timeAccepted',
    ]);
    expect(Object.keys(workRequestView(dataScienceWorkRequests, ds, 2_000, undefined))).toEqual([
      'id',
      'operationType',
      'status',
      'compartmentId',
      'percentComplete',
      'resources',
      'timeAccepted',
      'timeStarted',
      'timeFinished',
    ]);
  });
});

describe('the dialects match their SDKs', () => {
  const sdkValues = (e: object | undefined) =>
    Object.values(e ?? {}).filter((v) => typeof v === 'string' && v !== 'UNKNOWN_VALUE');
  const cases = [
    {
      name: 'Generative AI',
      dialect: genAiWorkRequests,
      sortBy: genAiRequests.ListWorkRequestsRequest.SortBy,
      errorsSortBy: genAiRequests.ListWorkRequestErrorsRequest.SortBy as object | undefined,
      logsSortBy: genAiRequests.ListWorkRequestLogsRequest.SortBy as object | undefined,
      actionTypes: sdkValues(genAiModels.ActionType),
    },
    {
      name: 'Data Science',
      dialect: dataScienceWorkRequests,
      sortBy: dsRequests.ListWorkRequestsRequest.SortBy,
      errorsSortBy: (dsRequests as Record<string, { SortBy?: object } | undefined>)
        .ListWorkRequestErrorsRequest?.SortBy,
      logsSortBy: (dsRequests as Record<string, { SortBy?: object } | undefined>)
        .ListWorkRequestLogsRequest?.SortBy,
      actionTypes: sdkValues(dsModels.WorkRequestResource.ActionType),
    },
  ];
  it.each(cases)('$name: sort keys and action types', (c) => {
    expect([...c.dialect.listSortBy].sort()).toEqual(sdkValues(c.sortBy).sort());
    expect(c.dialect.sortsErrorsAndLogs).toBe(sdkValues(c.errorsSortBy).includes('timestamp'));
    expect(c.dialect.sortsErrorsAndLogs).toBe(sdkValues(c.logsSortBy).includes('timestamp'));
    for (const t of [c.dialect.failedActionType, 'IN_PROGRESS', 'CREATED', 'UPDATED', 'DELETED']) {
      expect(c.actionTypes).toContain(t);
    }
  });
});

describe('workRequestFailure and workRequestLogs', () => {
  it('fails on a FAILED or NEEDS_ATTENTION entity, or a vanished one the work did not delete', () => {
    const wr = times();
    expect(workRequestFailure(wr, 'C', { lifecycleState: 'ACTIVE' })).toBeUndefined();
    expect(
      workRequestFailure(wr, 'C', { lifecycleState: 'FAILED', lifecycleDetails: 'd' }),
    ).toEqual({ code: 'C', message: 'd' });
    expect(workRequestFailure(wr, 'C', { lifecycleState: 'NEEDS_ATTENTION' })).toEqual({
      code: 'C',
      message: 'e1 is NEEDS_ATTENTION',
    });
    expect(workRequestFailure(wr, 'C', undefined)?.code).toBe('ResourceNotFound');
    expect(workRequestFailure(times({ action: 'DELETED' }), 'C', undefined)).toBeUndefined();
  });

  it('logs accepted, started and the outcome as each happens', () => {
    const msgs = (at: number, f?: { code: string; message: string }) =>
      workRequestLogs(times(), at, f).map((l) => l.message);
    expect(msgs(0)).toEqual(['CREATE_THING accepted']);
    expect(msgs(100)).toEqual(['CREATE_THING accepted', 'CREATE_THING started']);
    expect(msgs(1_100)).toEqual([
      'CREATE_THING accepted',
      'CREATE_THING started',
      'CREATE_THING succeeded',
    ]);
    expect(msgs(1_100, { code: 'X', message: 'm' })[2]).toBe('CREATE_THING failed');
  });
});

describe('WorkRequests', () => {
  type Entity = { lifecycleState: string; lifecycleDetails?: string };

  function setup<K extends string, F extends KindField>(
    dialect: WorkRequestDialect<K, F>,
    seed: WorkRequestTimes[] = [],
  ) {
    const store = new MemoryStore();
    const ctx = fakeContext(store);
    for (const wr of seed) store.collection<WorkRequestTimes>('test-work-requests').put(wr);
    const entities = new Map<string, Entity>();
    const loads: string[] = [];
    const sorts: (Parameters<ListResponder>[2] | 'none')[] = [];
    const wrs = new WorkRequests(dialect, {
      ctx,
      collection: 'test-work-requests',
      loadEntity: (kind, id) => {
        loads.push(`${kind}:${id}`);
        return entities.get(id);
      },
      respond: (_req, items, sort) => {
        sorts.push(sort ?? 'none');
        return { status: 200, headers: {}, body: items };
      },
      etagOf,
    });
    const routes = new Map<string, Route>(wrs.routes().map((r) => [r.operation, r]));
    const call = async (
      operation: string,
      params: Record<string, string> = {},
      query = '',
    ): Promise<EmulatorResponse> => {
      const route = routes.get(operation);
      if (!route) throw new Error(`no route ${operation}`);
      return route.handler(request(params, query));
    };
    const col = store.collection<WorkRequestTimes>('test-work-requests');
    return {
      wrs,
      col,
      /** The record as persisted (JSON text). */
      raw: (id: string) => store.data.get('test-work-requests')?.get(id) ?? '{}',
      entities,
      loads,
      sorts,
      call,
      routes,
      advance: (ms: number) => ctx.advance(ms),
      now: () => ctx.clockMs,
    };
  }

  it('serves the four work-request operations on the service API', () => {
    const { routes } = setup(genAiWorkRequests);
    expect([...routes.values()].map((r) => `${r.method} ${r.path} ${r.operation}`)).toEqual([
      'GET /20231130/workRequests ListWorkRequests',
      'GET /20231130/workRequests/{workRequestId} GetWorkRequest',
      'GET /20231130/workRequests/{workRequestId}/errors ListWorkRequestErrors',
      'GET /20231130/workRequests/{workRequestId}/logs ListWorkRequestLogs',
    ]);
  });

  it('stores records under the kind field each service always used, in the same field order', () => {
    const g = setup(genAiWorkRequests);
    const a = g.wrs.create('CREATE_MODEL', 'model', 'm1', 'c', 'CREATED', 1_000);
    expect(Object.keys(JSON.parse(g.raw(a.id)) as object)).toEqual([
      'id',
      'operationType',
      'compartmentId',
      'entityKind',
      'entityId',
      'action',
      'acceptedMs',
      'startMs',
      'finishMs',
    ]);
    expect(a.id).toMatch(/^ocid1\.generativeaiworkrequest\./);
    const d = setup(dataScienceWorkRequests);
    const b = d.wrs.create('JOB_DELETE', 'job', 'j1', 'c', 'DELETED', 500);
    expect(b.id).toMatch(/^ocid1\.datascienceworkrequest\./);
    expect(JSON.parse(d.raw(b.id))).toEqual({
      id: b.id,
      operationType: 'JOB_DELETE',
      compartmentId: 'c',
      entityType: 'job',
      entityId: 'j1',
      action: 'DELETED',
      acceptedMs: d.now(),
      startMs: d.now() + 50,
      finishMs: d.now() + 500,
    });
  });

  it('serves records a data dir already holds', async () => {
    const legacy = {
      ...times({ id: 'old', acceptedMs: 0, startMs: 10, finishMs: 100 }),
      entityType: 'modelDeployment',
    };
    const { call, entities } = setup(dataScienceWorkRequests, [legacy]);
    entities.set('e1', { lifecycleState: 'FAILED', lifecycleDetails: 'unhealthy' });
    const got = await call('GetWorkRequest', { workRequestId: 'old' });
    expect(got.body).toMatchObject({
      status: 'FAILED',
      resources: [{ entityType: 'modelDeployment', actionType: 'RELATED' }],
    });
  });

  it('gets a work request with an etag, and retry-after until it finishes', async () => {
    const { wrs, call, advance } = setup(genAiWorkRequests);
    const wr = wrs.create('CREATE_ENDPOINT', 'endpoint', 'e1', 'c', 'CREATED', 1_000);
    const early = await call('GetWorkRequest', { workRequestId: wr.id });
    expect(early.headers).toEqual({ etag: etagOf(early.body), 'retry-after': 1 });
    advance(1_000);
    const done = await call('GetWorkRequest', { workRequestId: wr.id });
    expect(done.headers).toEqual({ etag: etagOf(done.body) });
    expect(done.headers?.etag).not.toBe(early.headers?.etag);
    await expect(call('GetWorkRequest', { workRequestId: 'nope' })).rejects.toMatchObject({
      status: 404,
      code: 'NotAuthorizedOrNotFound',
    });
  });

  it('ends the unfinished work of an entity now, leaving finished work as it was', () => {
    const { wrs, col, advance, now } = setup(genAiWorkRequests);
    const done = wrs.create('UPDATE_ENDPOINT', 'endpoint', 'e1', 'c', 'UPDATED', 10);
    advance(20);
    const open = wrs.create('DELETE_ENDPOINT', 'endpoint', 'e1', 'c', 'DELETED', 10_000);
    const other = wrs.create('DELETE_MODEL', 'model', 'm1', 'c', 'DELETED', 10_000);
    advance(5);
    const before = col.get(done.id);
    wrs.finishAllOf('e1');
    expect(col.get(done.id)).toEqual(before);
    expect(col.get(open.id)).toMatchObject({ startMs: now(), finishMs: now() });
    expect(col.get(other.id)?.finishMs).toBe(other.finishMs);
  });

  it("lists by compartment, status and the dialect's own filters, sorted as the SDK allows", async () => {
    const g = setup(genAiWorkRequests);
    const a = g.wrs.create('CREATE_MODEL', 'model', 'm1', 'c', 'CREATED', 100);
    g.wrs.create('CREATE_MODEL', 'model', 'm2', 'c', 'CREATED', 10_000);
    g.wrs.create('CREATE_MODEL', 'model', 'm3', 'other', 'CREATED', 100);
    g.advance(200);
    g.entities.set('m1', { lifecycleState: 'ACTIVE' });
    const ids = async (query: string) =>
      ((await g.call('ListWorkRequests', {}, query)).body as { id: string }[]).map((v) => v.id);
    expect(await ids('compartmentId=c')).toHaveLength(2);
    expect(await ids('compartmentId=c&status=SUCCEEDED')).toEqual([a.id]);
    expect(await ids(`compartmentId=c&workRequestId=${a.id}`)).toEqual([a.id]);
    expect(await ids('compartmentId=c&resourceId=m1')).toEqual([a.id]);
    // Data Science's `id` and `operationType` are not Generative AI parameters: ignored there.
    expect(await ids(`compartmentId=c&id=${a.id}&operationType=X`)).toHaveLength(2);
    expect(g.sorts.at(-1)).toEqual({ sortable: ['timeAccepted'], defaultSortBy: 'timeAccepted' });
    await expect(g.call('ListWorkRequests')).rejects.toBeInstanceOf(OciApiError);

    const d = setup(dataScienceWorkRequests);
    const b = d.wrs.create('MODEL_DEPLOYMENT_CREATE', 'modelDeployment', 'md', 'c', 'CREATED', 1);
    d.wrs.create('JOB_DELETE', 'job', 'j', 'c', 'DELETED', 1);
    const dsIds = async (query: string) =>
      ((await d.call('ListWorkRequests', {}, query)).body as { id: string }[]).map((v) => v.id);
    expect(await dsIds(`compartmentId=c&id=${b.id}`)).toEqual([b.id]);
    expect(await dsIds('compartmentId=c&operationType=MODEL_DEPLOYMENT_CREATE')).toEqual([b.id]);
    expect(await dsIds(`compartmentId=c&workRequestId=${b.id}`)).toHaveLength(2);
    expect(d.sorts.at(-1)).toEqual({
      sortable: ['operationType', 'status', 'timeAccepted'],
      defaultSortBy: 'timeAccepted',
    });
  });

  it('reports errors from the entity once the work is over, asking only about tracked kinds', async () => {
    const d = setup(dataScienceWorkRequests);
    const md = d.wrs.create(
      'MODEL_DEPLOYMENT_CREATE',
      'modelDeployment',
      'md',
      'c',
      'CREATED',
      100,
    );
    const job = d.wrs.create('JOB_DELETE', 'job', 'j', 'c', 'DELETED', 100);
    d.entities.set('md', { lifecycleState: 'FAILED', lifecycleDetails: 'container unhealthy' });
    const errors = async (id: string) =>
      (await d.call('ListWorkRequestErrors', { workRequestId: id })).body;
    expect(await errors(md.id)).toEqual([]);
    expect(d.loads).toEqual([]);
    d.advance(100);
    expect(await errors(md.id)).toEqual([
      {
        code: 'WorkRequestFailed',
        message: 'container unhealthy',
        timestamp: new Date(md.finishMs).toISOString(),
      },
    ]);
    expect(await errors(job.id)).toEqual([]);
    expect(d.loads).toEqual(['modelDeployment:md']);
    // Data Science's errors and logs take no sortBy: paged only.
    await d.call('ListWorkRequestLogs', { workRequestId: md.id });
    expect(d.sorts).toEqual(['none', 'none', 'none', 'none']);

    const g = setup(genAiWorkRequests);
    const m = g.wrs.create('CREATE_MODEL', 'model', 'm', 'c', 'CREATED', 10);
    g.advance(10);
    g.entities.set('m', { lifecycleState: 'FAILED' });
    const logs = await g.call('ListWorkRequestLogs', { workRequestId: m.id });
    expect((logs.body as { message: string }[]).at(-1)?.message).toBe('CREATE_MODEL failed');
    const gErrors = await g.call('ListWorkRequestErrors', { workRequestId: m.id });
    expect(gErrors.body).toMatchObject([{ code: 'FineTuningFailed', message: 'm is FAILED' }]);
    expect(g.sorts).toEqual([
      { sortable: ['timestamp'], defaultSortBy: 'timestamp' },
      { sortable: ['timestamp'], defaultSortBy: 'timestamp' },
    ]);
  });
});
