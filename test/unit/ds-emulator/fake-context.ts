/**
 * An in-memory EmulatorContext with a settable clock and a router that calls the Data Science
 * service's handlers the way the emulator server does, so lifecycle timing is tested exactly.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { silentLogger } from '#shared/log.ts';
import {
  OciApiError,
  type Collection,
  type EmulatorContext,
  type EmulatorRequest,
  type EmulatorService,
  type HttpMethod,
  type Route,
} from '#local/emulator/service.ts';

/** Collections as JSON strings, shared by every context built on it (a "restart" keeps them). */
export class MemoryStore {
  /** OCID counter: kept with the data so a "restarted" context never reuses an id. */
  seq = 0;
  readonly data = new Map<string, Map<string, string>>();
  collection<T extends { id: string }>(name: string): Collection<T> {
    let items = this.data.get(name);
    if (!items) {
      items = new Map();
      this.data.set(name, items);
    }
    const m = items;
    return {
      get: (id) => {
        const v = m.get(id);
        return v === undefined ? undefined : (JSON.parse(v) as T);
      },
      list: () => [...m.values()].map((v) => JSON.parse(v) as T),
      put: (item) => {
        m.set(item.id, JSON.stringify(item));
      },
      delete: (id) => m.delete(id),
    };
  }
}

export interface FakeContext extends EmulatorContext {
  clockMs: number;
  advance(ms: number): void;
}

export function fakeContext(
  store = new MemoryStore(),
  startMs = Date.UTC(2026, 0, 1),
): FakeContext {
  const ctx: FakeContext = {
    clockMs: startMs,
    advance(ms) {
      ctx.clockMs += ms;
    },
    namespace: 'ns',
    tenancyId: 'ocid1.tenancy.oc1..t',
    compartmentId: 'ocid1.compartment.oc1..c',
    region: 'us-chicago-1',
    dataDir: '/nonexistent',
    log: silentLogger,
    now: () => new Date(ctx.clockMs),
    scaleDelayMs: (ms) => ms,
    after: () => {},
    newOcid: (type) => `ocid1.${type}.oc1.us-chicago-1.id${++store.seq}`,
    collection: (name) => store.collection(name),
    objectExists: async () => false,
    emitEvent: () => {},
    publishToTopic: async () => {},
  };
  return ctx;
}

export interface CallResult {
  status: number;
  headers: Record<string, string | number>;
  /** JSON bodies parsed; Buffers and streams as they were returned. */
  body: unknown;
  error?: { code: string; message: string };
}

export function router(service: EmulatorService, ctx: EmulatorContext) {
  const routes: Route[] = service.routes(ctx);
  return async function call(
    method: HttpMethod,
    pathAndQuery: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<CallResult> {
    const url = new URL(pathAndQuery, 'http://emu.local:9');
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
      const buf = Buffer.isBuffer(body)
        ? body
        : Buffer.from(body === undefined ? '' : JSON.stringify(body));
      const lower: Record<string, string> = { host: 'emu.local:9' };
      for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
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
            return JSON.parse(buf.length === 0 ? 'null' : buf.toString('utf8')) as T;
          } catch {
            throw new OciApiError(400, 'InvalidParameter', 'body is not JSON');
          }
        },
        stream: Readable.from([buf]),
        raw: {} as IncomingMessage,
      };
      try {
        const res = await route.handler(req);
        return { status: res.status, headers: res.headers ?? {}, body: res.body };
      } catch (err) {
        if (err instanceof OciApiError) {
          return {
            status: err.status,
            headers: {},
            body: undefined,
            error: { code: err.code, message: err.message },
          };
        }
        throw err;
      }
    }
    return {
      status: 404,
      headers: {},
      body: undefined,
      error: { code: 'NotFound', message: 'no route' },
    };
  };
}
