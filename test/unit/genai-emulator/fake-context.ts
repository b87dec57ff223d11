/**
 * A small in-memory EmulatorContext and a router, so the GenAI service's logic runs without a
 * server: a settable clock, counters for OCIDs, collections that survive a "restart" (same store),
 * and a set of existing objects.
 */
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { silentLogger } from '#shared/log.ts';
import {
  OciApiError,
  type Collection,
  type EmulatorContext,
  type EmulatorRequest,
  type EmulatorResponse,
  type EmulatorService,
  type HttpMethod,
  type Route,
} from '#local/emulator/service.ts';

export class MemoryStore {
  readonly data = new Map<string, Map<string, string>>();
  collection<T extends { id: string }>(name: string): Collection<T> {
    let m = this.data.get(name);
    if (!m) {
      m = new Map();
      this.data.set(name, m);
    }
    const items = m;
    return {
      get: (id) => {
        const v = items.get(id);
        return v === undefined ? undefined : (JSON.parse(v) as T);
      },
      list: () => [...items.values()].map((v) => JSON.parse(v) as T),
      put: (item) => {
        items.set(item.id, JSON.stringify(item));
      },
      delete: (id) => items.delete(id),
    };
  }
}

export interface FakeContext extends EmulatorContext {
  clockMs: number;
  advance(ms: number): void;
  objects: Set<string>;
}

export function fakeContext(
  store = new MemoryStore(),
  startMs = Date.UTC(2026, 0, 1),
): FakeContext {
  let n = 0;
  const ctx: FakeContext = {
    clockMs: startMs,
    advance(ms) {
      ctx.clockMs += ms;
    },
    objects: new Set(),
    namespace: 'ns',
    tenancyId: 'ocid1.tenancy.oc1..t',
    compartmentId: 'ocid1.compartment.oc1..c',
    region: 'us-chicago-1',
    dataDir: '/nonexistent',
    log: silentLogger,
    now: () => new Date(ctx.clockMs),
    scaleDelayMs: (ms) => ms,
    after: () => {},
    newOcid: (type) => `ocid1.${type}.oc1.us-chicago-1.id${++n}${Math.floor(startMs % 1000)}`,
    collection: (name) => store.collection(name),
    objectExists: async (ns, bucket, name) => ctx.objects.has(`${ns}/${bucket}/${name}`),
    emitEvent: () => {},
    publishToTopic: async () => {},
  };
  return ctx;
}

export interface CallResult {
  status: number;
  headers: Record<string, string | number>;
  body: Record<string, unknown>;
  error?: { code: string; message: string };
}

/** Routes a request like the emulator server does and renders OciApiError like it. */
export function router(service: EmulatorService, ctx: EmulatorContext) {
  const routes: Route[] = service.routes(ctx);
  return async function call(
    method: HttpMethod,
    pathAndQuery: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<CallResult> {
    const url = new URL(pathAndQuery, 'http://x');
    for (const route of routes) {
      if (route.method !== method) continue;
      const names: string[] = [];
      const re = new RegExp(
        '^' + route.path.replace(/\{(\w+)\}/g, (_m, p: string) => (names.push(p), '([^/]+)')) + '$',
      );
      const match = re.exec(url.pathname);
      if (!match) continue;
      const params: Record<string, string> = {};
      names.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1] ?? '')));
      const buf = Buffer.from(body === undefined ? '' : JSON.stringify(body));
      const lower = Object.fromEntries(
        Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]),
      );
      const req: EmulatorRequest = {
        method,
        rawPath: url.pathname,
        params,
        query: url.searchParams,
        headers: lower,
        requestId: 'req',
        body: async () => buf,
        json: async <T>() => {
          try {
            return JSON.parse(buf.toString('utf8')) as T;
          } catch {
            throw new OciApiError(400, 'InvalidParameter', 'body is not JSON');
          }
        },
        stream: Readable.from(buf),
        raw: {} as IncomingMessage,
      };
      try {
        const res: EmulatorResponse = await route.handler(req);
        return {
          status: res.status,
          headers: res.headers ?? {},
          body: (res.body ?? {}) as Record<string, unknown>,
        };
      } catch (err) {
        if (err instanceof OciApiError) {
          return {
            status: err.status,
            headers: {},
            body: {},
            error: { code: err.code, message: err.message },
          };
        }
        throw err;
      }
    }
    return { status: 404, headers: {}, body: {}, error: { code: 'NotFound', message: 'no route' } };
  };
}
