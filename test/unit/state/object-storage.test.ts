/**
 * The Object Storage store's error mapping and retried-write handling, against a small in-memory
 * fake of the four ObjectStorageClient methods (the integration test drives the real client).
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  ConflictError,
  CorruptDocumentError,
  NotFoundError,
  StoreRejectedError,
  StoreUnavailableError,
} from '#shared/state/errors.ts';
import { ObjectStorageStore, type ObjectStoragePort } from '#shared/state/object-storage.ts';

const ociError = (statusCode: number, serviceCode: string) =>
  Object.assign(new Error(serviceCode), { statusCode, serviceCode });

type Hook = (name: string, commit: () => void) => void;

/** Conditional-write semantics as facts sheet F describes; hooks inject failures around commit. */
function fakeBucket(options: { missingIfMatch?: 404 | 412 } = {}) {
  const objects = new Map<string, { body: string; etag: string }>();
  let n = 0;
  const hooks: { put?: Hook; get?: (name: string) => void } = {};
  const port: ObjectStoragePort = {
    async putObject(r) {
      const name = r.objectName;
      let etag = '';
      const commit = () => {
        if (r.ifNoneMatch === '*' && objects.has(name)) throw ociError(412, 'IfNoneMatchFailed');
        if (r.ifMatch !== undefined) {
          const now = objects.get(name);
          if (!now) throw ociError(options.missingIfMatch ?? 404, 'ObjectNotFound');
          if (now.etag !== r.ifMatch) throw ociError(412, 'NoEtagMatch');
        }
        etag = `e${++n}`;
        objects.set(name, { body: String(r.putObjectBody), etag });
      };
      if (hooks.put) hooks.put(name, commit);
      else commit();
      return { eTag: etag };
    },
    async getObject(r) {
      hooks.get?.(r.objectName);
      const o = objects.get(r.objectName);
      if (!o) throw ociError(404, 'ObjectNotFound');
      return { eTag: o.etag, value: Readable.from([Buffer.from(o.body)]) };
    },
    async listObjects(r) {
      const names = [...objects.keys()]
        .filter((k) => k.startsWith(r.prefix ?? '') && (r.start === undefined || k >= r.start))
        .sort();
      const limit = r.limit ?? 1000;
      const page = names.slice(0, limit);
      const next = names[limit];
      return {
        listObjects: {
          objects: page.map((name) => ({ name })),
          ...(next === undefined ? {} : { nextStartWith: next }),
        },
      };
    },
    async deleteObject(r) {
      const o = objects.get(r.objectName);
      if (!o) throw ociError(404, 'ObjectNotFound');
      if (r.ifMatch !== undefined && r.ifMatch !== o.etag) throw ociError(412, 'NoEtagMatch');
      objects.delete(r.objectName);
      return {};
    },
  };
  const store = new ObjectStorageStore({ client: port, namespace: 'ns', bucket: 'b' });
  return { port, store, objects, hooks };
}

describe('ObjectStorageStore', () => {
  it('stores an envelope under dacflow/state/ with the write id at the head', async () => {
    const { store, objects } = fakeBucket();
    await store.create('runs/r1', { state: 'RECEIVED' });
    const raw = objects.get('dacflow/state/runs/r1');
    const envelope = JSON.parse(raw?.body ?? '') as {
      dacflowState: number;
      recentWriteIds: string[];
      doc: unknown;
    };
    expect(envelope.dacflowState).toBe(1);
    expect(envelope.recentWriteIds).toHaveLength(1);
    expect(envelope.doc).toEqual({ state: 'RECEIVED' });
  });

  it('a create that committed, then failed and was retried into 412, is reported as created', async () => {
    const { store, hooks } = fakeBucket();
    let calls = 0;
    // Attempt 1 commits and "loses its response"; the SDK's retry then fails If-None-Match.
    hooks.put = (_name, commit) => {
      calls += 1;
      commit();
      if (calls === 1) commit();
    };
    const res = await store.create('k', { n: 1 });
    expect(res.etag).toBe('e1');
  });

  it('a create that lost to another writer is AlreadyExists', async () => {
    const { store } = fakeBucket();
    await store.create('k', { n: 1 });
    await expect(store.create('k', { n: 2 })).rejects.toBeInstanceOf(AlreadyExistsError);
  });

  it('a replace that committed and was superseded before the re-read returns etag undefined', async () => {
    const { store, hooks, objects } = fakeBucket();
    const v1 = await store.create('k', { n: 1 });
    await store.read('k');
    hooks.put = (name, commit) => {
      commit();
      hooks.put = undefined;
      // Another writer replaces it, extending the chain as a repository would.
      const env = JSON.parse(objects.get(name)?.body ?? '') as { recentWriteIds: string[] };
      objects.set(name, {
        body: JSON.stringify({
          dacflowState: 1,
          recentWriteIds: ['other', ...env.recentWriteIds],
          doc: { n: 9 },
        }),
        etag: 'e-other',
      });
      throw ociError(412, 'NoEtagMatch');
    };
    const res = await store.replace('k', { n: 2 }, v1.etag as string);
    expect(res.etag).toBeUndefined();
  });

  it('a real lost race is a ConflictError carrying the winning revision', async () => {
    const { store } = fakeBucket();
    const v1 = await store.create('k', { n: 1 });
    const v2 = await store.replace('k', { n: 2 }, v1.etag as string);
    const err = await store.replace('k', { n: 3 }, v1.etag as string).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).current).toEqual({ doc: { n: 2 }, etag: v2.etag });
  });

  it.each([404, 412] as const)(
    'If-Match on a missing object answered %i is NotFound',
    async (status) => {
      const { store } = fakeBucket({ missingIfMatch: status });
      await expect(store.replace('gone', { n: 1 }, 'e0')).rejects.toBeInstanceOf(NotFoundError);
    },
  );

  it('a 5xx after the write took effect is settled by a re-read', async () => {
    const { store, hooks } = fakeBucket();
    hooks.put = (_name, commit) => {
      commit();
      throw ociError(503, 'ServiceUnavailable');
    };
    expect((await store.create('k', { n: 1 })).etag).toBe('e1');
  });

  it('a 5xx before the write is a retryable, unambiguous StoreUnavailableError', async () => {
    const { store, hooks } = fakeBucket();
    hooks.put = () => {
      throw ociError(500, 'InternalServerError');
    };
    const err = await store.create('k', { n: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({ retryable: true, ambiguous: false });
  });

  it('a 5xx whose re-read also fails is marked ambiguous', async () => {
    const { store, hooks } = fakeBucket();
    hooks.put = () => {
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    };
    hooks.get = () => {
      throw ociError(503, 'ServiceUnavailable');
    };
    await expect(store.create('k', { n: 1 })).rejects.toMatchObject({
      code: 'STATE_STORE_UNAVAILABLE',
      ambiguous: true,
    });
  });

  it('a 403 is a StoreRejectedError, not retryable', async () => {
    const { store, hooks } = fakeBucket();
    hooks.put = () => {
      throw ociError(403, 'NotAuthorizedOrNotFound');
    };
    const err = await store.create('k', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreRejectedError);
    expect(err).toMatchObject({ retryable: false });
  });

  it('a foreign object under the prefix is CorruptDocumentError', async () => {
    const { store, objects } = fakeBucket();
    objects.set('dacflow/state/k', { body: 'not json', etag: 'x' });
    await expect(store.read('k')).rejects.toBeInstanceOf(CorruptDocumentError);
    objects.set('dacflow/state/k', { body: '{"doc":1}', etag: 'x' });
    await expect(store.read('k')).rejects.toBeInstanceOf(CorruptDocumentError);
  });

  it('lists relative keys and pages with nextStartWith', async () => {
    const { store } = fakeBucket();
    for (const k of ['a/1', 'a/2', 'a/3', 'b/1']) await store.create(k, {});
    const page = await store.list('a/', { limit: 2 });
    expect(page).toEqual({ keys: ['a/1', 'a/2'], next: 'a/3' });
    expect(await store.list('a/', { start: 'a/3' })).toEqual({ keys: ['a/3'] });
  });

  it('rejects keys that could escape the prefix', async () => {
    const { store } = fakeBucket();
    for (const bad of ['', '/abs', 'a/../b', 'a//b', 'sp ace']) {
      await expect(store.read(bad)).rejects.toBeInstanceOf(TypeError);
    }
  });

  it('keeps at most writeIdHistory write ids', async () => {
    const { port, objects } = fakeBucket();
    const store = new ObjectStorageStore({
      client: port,
      namespace: 'ns',
      bucket: 'b',
      writeIdHistory: 3,
    });
    let v = await store.create('k', { i: 0 });
    for (let i = 1; i <= 5; i++) v = await store.replace('k', { i }, v.etag as string);
    const env = JSON.parse(objects.get('dacflow/state/k')?.body ?? '') as {
      recentWriteIds: string[];
    };
    expect(env.recentWriteIds).toHaveLength(3);
  });
});
