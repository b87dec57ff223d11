/**
 * The contract between the local OCI emulator's server (local/emulator/server.ts) and the services
 * it hosts (Object Storage, Events, Notifications, Generative AI, Monitoring, Data Science). A
 * service is a list of routes on OCI's real REST paths; the server does signature verification,
 * fault injection, request ids and error bodies around every route.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from '#shared/log.ts';

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';

export interface EmulatorRequest {
  method: HttpMethod;
  /** Path without the query string, still percent-encoded (e.g. `/n/ns/b/b/o/a%2Fb.jsonl`). */
  rawPath: string;
  /** Path parameters from the route pattern, percent-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** `opc-request-id` echoed on the response. */
  requestId: string;
  /**
   * The whole body. For JSON APIs the server has already read it (to check `x-content-sha256`);
   * for object uploads prefer `stream` so nothing is buffered whole.
   */
  body(): Promise<Buffer>;
  /** The body parsed as JSON; an `OciApiError` 400 `InvalidParameter` if it is not JSON. */
  json<T = unknown>(): Promise<T>;
  /** The request body as a stream (object uploads). */
  stream: Readable;
  raw: IncomingMessage;
}

export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string | number>;
  /** A JSON value (serialized with content-type application/json), a Buffer, a stream, or none. */
  body?: unknown;
}

export interface Route {
  method: HttpMethod;
  /** OCI's REST path with `{param}` segments, e.g. `/20231130/models/{modelId}`. */
  path: string;
  /** The OCI operation name (e.g. `CreateModel`); fault injection selects on it. */
  operation: string;
  handler(req: EmulatorRequest): Promise<EmulatorResponse>;
  /**
   * True for object uploads: the body is not part of the signature (the SDK does not sign it) and
   * the server does not read it ahead, so the handler can stream it to disk.
   */
  streamBody?: boolean;
}

/** An OCI error response: handlers throw it, the server renders `{"code","message"}`. */
export class OciApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'OciApiError';
    this.status = status;
    this.code = code;
  }
}

/** A CloudEvents 0.1 envelope as OCI Events delivers it (facts sheet, section D). */
export interface CloudEvent {
  cloudEventsVersion: '0.1';
  eventID: string;
  eventType: string;
  source: string;
  eventTypeVersion: string;
  eventTime: string;
  contentType: 'application/json';
  extensions: { compartmentId: string };
  data: Record<string, unknown>;
}

/** How the emulator reaches a function (the local Fn runner implements it). */
export type FunctionInvoker = (
  functionId: string,
  body: Buffer,
  headers: Record<string, string>,
) => Promise<{ status: number; body: Buffer }>;

/** A persisted collection of control-plane resources (JSON, in the data dir). */
export interface Collection<T extends { id: string }> {
  get(id: string): T | undefined;
  list(): T[];
  /** Inserts or replaces, and persists. */
  put(item: T): void;
  delete(id: string): boolean;
}

/** What a service may use from the emulator. */
export interface EmulatorContext {
  namespace: string;
  tenancyId: string;
  compartmentId: string;
  region: string;
  dataDir: string;
  log: Logger;
  now(): Date;
  /** A simulated OCI delay, shrunk when the emulator runs with `fast`. */
  scaleDelayMs(ms: number): number;
  /** Runs `fn` after `ms` (already scaled by the caller); timers are cleared on close. */
  after(ms: number, fn: () => void): void;
  /** A fresh OCID of the given resource type, e.g. `generativeaimodel`. */
  newOcid(resourceType: string): string;
  /** A persisted collection, created on first use. */
  collection<T extends { id: string }>(name: string): Collection<T>;
  /** Object Storage as other services see it (GenAI checks that a dataset exists). */
  objectExists(namespace: string, bucket: string, name: string): Promise<boolean>;
  /** Publishes an event to the Events service, which matches it against rules. */
  emitEvent(
    event: Omit<CloudEvent, 'eventID' | 'eventTime' | 'cloudEventsVersion' | 'contentType'>,
  ): void;
  /** Publishes a message to an ONS topic as the service would (Monitoring alarms use it). */
  publishToTopic(topicId: string, title: string | undefined, body: string): Promise<void>;
}

export interface EmulatorService {
  name: string;
  routes(ctx: EmulatorContext): Route[];
  /** Optional: stop timers or flush state when the emulator closes. */
  close?(): Promise<void> | void;
}
