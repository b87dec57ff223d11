/**
 * The emulator's HTTP server: routing on OCI's REST paths, signature verification on every request,
 * fault injection, request ids and OCI-shaped error bodies around the services' handlers.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '#shared/log.ts';
import { SignatureError, sha256Base64, verifyRequestSignature, type Credentials } from './auth.ts';
import { faultResponses, type FaultInjector } from './faults.ts';
import {
  OciApiError,
  type EmulatorRequest,
  type EmulatorResponse,
  type HttpMethod,
  type Route,
} from './service.ts';

interface CompiledRoute {
  route: Route;
  segments: string[];
}

/** JSON request bodies above this are refused (object uploads stream and are not limited). */
export const maxJsonBodyBytes = 10 * 1024 * 1024;

export interface ServerOptions {
  routes: Route[];
  creds: Credentials;
  faults: FaultInjector;
  log: Logger;
  clockSkewSec: number;
  /** Waits `ms` (latency injection); tests and fast mode pass a scaled sleep. */
  sleep(ms: number): Promise<void>;
}

function compile(routes: Route[]): CompiledRoute[] {
  return routes.map((route) => ({ route, segments: route.path.split('/').slice(1) }));
}

function match(
  compiled: CompiledRoute[],
  method: string,
  rawPath: string,
): { route: Route; params: Record<string, string> } | 'method' | undefined {
  const parts = rawPath.split('/').slice(1);
  let pathMatched = false;
  for (const c of compiled) {
    if (c.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const seg = c.segments[i] as string;
      const part = parts[i] as string;
      if (seg.startsWith('{') && seg.endsWith('}')) {
        if (part === '') ok = false;
        else {
          try {
            params[seg.slice(1, -1)] = decodeURIComponent(part);
          } catch {
            ok = false;
          }
        }
      } else if (seg !== part) ok = false;
    }
    if (!ok) continue;
    pathMatched = true;
    if (c.route.method === method) return { route: c.route, params };
  }
  return pathMatched ? 'method' : undefined;
}

/** An OCI-style request id: 32 upper-case hex characters, then the client's id when it sent one. */
function newRequestId(client: string | string[] | undefined): string {
  const ours = randomBytes(16).toString('hex').toUpperCase();
  return typeof client === 'string' && client.length > 0 ? `${ours}/${client}` : ours;
}

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) {
      throw new OciApiError(413, 'RequestEntityTooLarge', `request body exceeds ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

function sendError(res: ServerResponse, requestId: string, err: OciApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ code: err.code, message: err.message });
  res.writeHead(err.status, {
    'opc-request-id': requestId,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

async function sendResponse(
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  out: EmulatorResponse,
): Promise<void> {
  const headers: Record<string, string | number> = { 'opc-request-id': requestId, ...out.headers };
  const head = req.method === 'HEAD';
  const body = out.body;
  if (body === undefined || body === null) {
    if (!('content-length' in headers) && out.status !== 304 && out.status !== 204) {
      headers['content-length'] = 0;
    }
    res.writeHead(out.status, headers);
    res.end();
    return;
  }
  if (body instanceof Readable) {
    res.writeHead(out.status, headers);
    if (head) {
      body.destroy();
      res.end();
      return;
    }
    await pipeline(body, res);
    return;
  }
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  if (!Buffer.isBuffer(body)) headers['content-type'] ??= 'application/json';
  headers['content-length'] = buf.length;
  res.writeHead(out.status, headers);
  res.end(head ? undefined : buf);
}

/** Builds (but does not start) the HTTP server. */
export function createEmulatorServer(o: ServerOptions): Server {
  const compiled = compile(o.routes);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = newRequestId(req.headers['opc-request-id']);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const found = match(compiled, method, url.pathname);
    const route = typeof found === 'object' ? found.route : undefined;
    let verified;
    try {
      verified = verifyRequestSignature(req, o.creds, {
        clockSkewSec: o.clockSkewSec,
        bodyUnsigned: route?.streamBody === true,
      });
    } catch (err) {
      req.resume();
      o.log.debug('emulator.auth.rejected', { requestId, path: url.pathname });
      const reason = err instanceof SignatureError ? err.message : 'invalid signature';
      sendError(res, requestId, new OciApiError(401, 'NotAuthenticated', reason));
      return;
    }
    if (found === undefined || found === 'method') {
      req.resume();
      sendError(
        res,
        requestId,
        found === 'method'
          ? new OciApiError(405, 'MethodNotAllowed', `${method} is not allowed on this path`)
          : new OciApiError(404, 'NotFound', `no operation at ${method} ${url.pathname}`),
      );
      return;
    }
    const { params } = found;
    const r = found.route;
    let body: Buffer | undefined;
    if (!r.streamBody) {
      try {
        body = await readAll(req, maxJsonBodyBytes);
      } catch (err) {
        req.resume();
        sendError(
          res,
          requestId,
          err instanceof OciApiError
            ? err
            : new OciApiError(400, 'InvalidParameter', 'request body could not be read'),
        );
        return;
      }
      if (verified.contentSha256 !== undefined && verified.contentSha256 !== sha256Base64(body)) {
        sendError(
          res,
          requestId,
          new OciApiError(401, 'NotAuthenticated', 'body does not match x-content-sha256'),
        );
        return;
      }
      if (verified.contentLength !== undefined && verified.contentLength !== body.length) {
        sendError(
          res,
          requestId,
          new OciApiError(401, 'NotAuthenticated', 'body does not match content-length'),
        );
        return;
      }
    }
    const readBody = async (): Promise<Buffer> =>
      body ?? (body = await readAll(req, Number.MAX_SAFE_INTEGER));
    const emuReq: EmulatorRequest = {
      method: method as HttpMethod,
      rawPath: url.pathname,
      params,
      query: url.searchParams,
      headers: req.headers,
      requestId,
      body: readBody,
      async json<T>(): Promise<T> {
        const b = await readBody();
        try {
          return JSON.parse(b.length === 0 ? 'null' : b.toString('utf8')) as T;
        } catch {
          throw new OciApiError(400, 'InvalidParameter', 'request body is not valid JSON');
        }
      },
      stream: body === undefined ? req : Readable.from([body]),
      raw: req,
    };
    const decision = o.faults.decide(r.operation);
    if (decision.latencyMs > 0) await o.sleep(decision.latencyMs);
    if (decision.kind && !decision.postCommit) {
      req.resume();
      const f = faultResponses[decision.kind];
      o.log.debug('emulator.fault', { requestId, operation: r.operation, status: f.status });
      sendError(res, requestId, new OciApiError(f.status, f.code, f.message));
      return;
    }
    let out: EmulatorResponse;
    try {
      out = await r.handler(emuReq);
    } catch (err) {
      req.resume();
      if (err instanceof OciApiError) {
        sendError(res, requestId, err);
      } else {
        o.log.error('emulator.handler.failed', { requestId, operation: r.operation, error: err });
        sendError(res, requestId, new OciApiError(500, 'InternalServerError', 'internal error'));
      }
      return;
    }
    if (decision.kind) {
      // The operation took effect; the client still sees a failure (facts F caveat).
      if (out.body instanceof Readable) out.body.destroy();
      const f = faultResponses[decision.kind];
      o.log.debug('emulator.fault.postCommit', {
        requestId,
        operation: r.operation,
        status: f.status,
      });
      sendError(res, requestId, new OciApiError(f.status, f.code, f.message));
      return;
    }
    await sendResponse(req, res, requestId, out);
  };
  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.log.error('emulator.request.failed', { error: err });
      if (!res.headersSent) {
        const e =
          err instanceof OciApiError
            ? err
            : new OciApiError(500, 'InternalServerError', 'internal error');
        sendError(res, 'unknown', e);
      } else res.destroy();
    });
  });
}
