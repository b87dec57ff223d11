import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RetryTokens, type RetryTokenRecord } from '#local/emulator/retry-tokens.ts';
import {
  OciApiError,
  type EmulatorRequest,
  type EmulatorResponse,
} from '#local/emulator/service.ts';
import { MemoryStore, fakeContext } from '../ds-emulator/fake-context.ts';

function post(token?: string): EmulatorRequest {
  return {
    method: 'POST',
    rawPath: '/things',
    params: {},
    query: new URLSearchParams(),
    headers: token === undefined ? {} : { 'opc-retry-token': token },
    requestId: 'r',
    body: async () => Buffer.alloc(0),
    json: async <T>() => null as T,
    stream: Readable.from([]),
    raw: {} as IncomingMessage,
  };
}

/** Creates a "thing" per call (id t1, t2 ...); a deferred variant lets a test hold it in flight. */
function setup(ttlMs = 60_000) {
  let n = 0;
  const store = new MemoryStore();
  const ctx = fakeContext(store);
  const tokens = new RetryTokens(ctx, 'test-retry-tokens', ttlMs);
  const saved = () =>
    [...(store.data.get('test-retry-tokens')?.values() ?? [])].map(
      (v) => JSON.parse(v) as RetryTokenRecord,
    );
  const things = new Map<string, { id: string; state: string }>();
  const create = async (): Promise<EmulatorResponse> => {
    const thing = { id: `t${++n}`, state: 'CREATING' };
    things.set(thing.id, thing);
    return {
      status: 200,
      headers: { 'opc-work-request-id': `wr-${thing.id}` },
      body: { ...thing },
    };
  };
  const replay = (id: string): EmulatorResponse | undefined => {
    const t = things.get(id);
    return t ? { status: 200, headers: { etag: `e-${t.state}` }, body: { ...t } } : undefined;
  };
  return {
    tokens,
    saved,
    things,
    create,
    replay,
    created: () => n,
    advance: (ms: number) => ctx.advance(ms),
  };
}

describe('RetryTokens', () => {
  it('does the work on every request without a token', async () => {
    const { tokens, create, created } = setup();
    await tokens.run(post(), 'CreateThing', { a: 1 }, create);
    await tokens.run(post(), 'CreateThing', { a: 1 }, create);
    expect(created()).toBe(2);
  });

  it('answers a repeat with the first response as it was, whatever the key order', async () => {
    const { tokens, create, created } = setup();
    const first = await tokens.run(post('k'), 'CreateThing', { a: 1, b: [1, { c: 2 }] }, create);
    const again = await tokens.run(post('k'), 'CreateThing', { b: [1, { c: 2 }], a: 1 }, create);
    expect(created()).toBe(1);
    expect(again).toEqual(first);
    (again.body as { id: string }).id = 'changed';
    const third = await tokens.run(post('k'), 'CreateThing', { a: 1, b: [1, { c: 2 }] }, create);
    expect((third.body as { id: string }).id).toBe('t1');
  });

  it('keeps the record shape of each way of answering a repeat', async () => {
    const { tokens, saved, create, replay } = setup();
    await tokens.run(post('plain'), 'CreateThing', {}, create);
    await tokens.run(post('live'), 'CreateThing', {}, create, replay);
    const [plain, live] = saved();
    expect(Object.keys(plain ?? {})).toEqual(['id', 'bodyHash', 'expiresAtMs', 'response']);
    expect(Object.keys(live ?? {})).toEqual([
      'id',
      'bodyHash',
      'expiresAtMs',
      'resourceId',
      'response',
    ]);
  });

  it('replays the resource as it is now with the first response headers, or the first response once it is gone', async () => {
    const { tokens, things, create, replay } = setup();
    await tokens.run(post('k'), 'CreateThing', {}, create, replay);
    (things.get('t1') as { state: string }).state = 'ACTIVE';
    const again = await tokens.run(post('k'), 'CreateThing', {}, create, replay);
    expect(again).toEqual({
      status: 200,
      headers: { 'opc-work-request-id': 'wr-t1', etag: 'e-ACTIVE' },
      body: { id: 't1', state: 'ACTIVE' },
    });
    things.delete('t1');
    const gone = await tokens.run(post('k'), 'CreateThing', {}, create, replay);
    expect(gone.body).toEqual({ id: 't1', state: 'CREATING' });
  });

  it('rejects the same token with another body, and scopes tokens per operation', async () => {
    const { tokens, create, created } = setup();
    await tokens.run(post('k'), 'CreateThing', { a: 1 }, create);
    const err = await tokens.run(post('k'), 'CreateThing', { a: 2 }, create).catch((e) => e);
    expect(err).toBeInstanceOf(OciApiError);
    expect(err).toMatchObject({ status: 409, code: 'InvalidatedRetryToken' });
    await tokens.run(post('k'), 'CreateOther', { a: 2 }, create);
    expect(created()).toBe(2);
  });

  it('forgets tokens after their time to live', async () => {
    const { tokens, create, created, advance } = setup(1_000);
    await tokens.run(post('k'), 'CreateThing', {}, create);
    advance(999);
    await tokens.run(post('k'), 'CreateThing', {}, create);
    expect(created()).toBe(1);
    advance(1);
    const fresh = await tokens.run(post('k'), 'CreateThing', {}, create);
    expect(created()).toBe(2);
    expect((fresh.body as { id: string }).id).toBe('t2');
  });

  it('does not remember failures, thrown or returned', async () => {
    const { tokens, create, created } = setup();
    const boom = () => Promise.reject(new OciApiError(404, 'NotAuthorizedOrNotFound', 'no'));
    await expect(tokens.run(post('k'), 'CreateThing', {}, boom)).rejects.toThrow('no');
    const refused = await tokens.run(post('k'), 'CreateThing', {}, async () => ({ status: 409 }));
    expect(refused.status).toBe(409);
    await tokens.run(post('k'), 'CreateThing', {}, create);
    expect(created()).toBe(1);
  });

  it('makes concurrent duplicates wait: one piece of work, and the next in line takes over a failure', async () => {
    const { tokens, create, created } = setup();
    const [a, b] = await Promise.all([
      tokens.run(post('k'), 'CreateThing', {}, create),
      tokens.run(post('k'), 'CreateThing', {}, create),
    ]);
    expect(created()).toBe(1);
    expect(b.body).toEqual(a.body);

    let attempts = 0;
    const failOnce = async (): Promise<EmulatorResponse> => {
      attempts++;
      if (attempts === 1) throw new OciApiError(503, 'ServiceUnavailable', 'try again');
      return create();
    };
    const results = await Promise.allSettled([
      tokens.run(post('q'), 'CreateThing', {}, failOnce),
      tokens.run(post('q'), 'CreateThing', {}, failOnce),
      tokens.run(post('q'), 'CreateThing', {}, failOnce),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(attempts).toBe(2);
    const ids = results.flatMap((r) =>
      r.status === 'fulfilled' ? [(r.value.body as { id: string }).id] : [],
    );
    expect(ids).toEqual(['t2', 't2']);
  });

  it('rejects a concurrent duplicate with another body at once', async () => {
    const { tokens, create } = setup();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = tokens.run(post('k'), 'CreateThing', { a: 1 }, async () => {
      await held;
      return create();
    });
    const other = await tokens.run(post('k'), 'CreateThing', { a: 2 }, create).catch((e) => e);
    expect(other).toMatchObject({ code: 'InvalidatedRetryToken' });
    release();
    expect((await first).status).toBe(200);
  });
});
