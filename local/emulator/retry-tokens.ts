/**
 * OCI's `opc-retry-token` contract for the emulated control-plane services' creates, one copy for
 * Generative AI and Data Science: the same token and body answer as the first request did and
 * create nothing; the same token with another body is 409 InvalidatedRetryToken; tokens expire
 * (24 hours by default: "Retry tokens expire after 24 hours", CreateModelRequest.opcRetryToken).
 * Only successful responses are remembered, so a token can be reused once the cause of a failure
 * is fixed. Concurrent duplicates wait for the one in flight, then answer as a later retry would.
 */
import { canonicalHash } from './genai-core.ts';
import { header } from './request-helpers.ts';
import {
  OciApiError,
  type Collection,
  type EmulatorContext,
  type EmulatorRequest,
  type EmulatorResponse,
} from './service.ts';

export interface RetryTokenRecord {
  /** A hash of the operation and the token: a token is scoped to one operation. */
  id: string;
  bodyHash: string;
  expiresAtMs: number;
  /** The resource the first request created, kept when the caller can replay its current view. */
  resourceId?: string;
  response: { status: number; headers: Record<string, string | number>; body?: unknown };
}

/**
 * Answers a replayed request from the resource as it is now; undefined (the resource is gone)
 * falls back to the first response as it was.
 */
export type Replay = (resourceId: string) => EmulatorResponse | undefined;

export class RetryTokens {
  private readonly inflight = new Map<
    string,
    { bodyHash: string; done: Promise<EmulatorResponse> }
  >();

  private readonly store: Collection<RetryTokenRecord>;

  /** `collection` names the persisted tokens, e.g. `genai-retry-tokens`. */
  constructor(
    private readonly ctx: Pick<EmulatorContext, 'now' | 'collection'>,
    collection: string,
    private readonly ttlMs: number,
  ) {
    this.store = ctx.collection<RetryTokenRecord>(collection);
  }

  private nowMs(): number {
    return this.ctx.now().getTime();
  }

  /**
   * Runs `work` once per `opc-retry-token` of `req` and `operation`. Without `replay` a repeat gets
   * the first response as it was; with it, the resource's current view with the first response's
   * headers (`opc-work-request-id`, `location`).
   */
  async run(
    req: EmulatorRequest,
    operation: string,
    body: unknown,
    work: () => Promise<EmulatorResponse>,
    replay?: Replay,
  ): Promise<EmulatorResponse> {
    const token = header(req, 'opc-retry-token');
    if (!token) return work();
    const id = canonicalHash([operation, token]).slice(0, 40);
    const bodyHash = canonicalHash(body);
    const invalidated = () =>
      new OciApiError(
        409,
        'InvalidatedRetryToken',
        'The retry token was already used for a request with a different body.',
      );
    // Queue behind a duplicate in flight: if it failed, the next in line does the work.
    for (let p = this.inflight.get(id); p; p = this.inflight.get(id)) {
      if (p.bodyHash !== bodyHash) throw invalidated();
      await p.done.catch(() => undefined);
    }
    const saved = this.store.get(id);
    if (saved && saved.expiresAtMs > this.nowMs()) {
      if (saved.bodyHash !== bodyHash) throw invalidated();
      const again =
        saved.resourceId === undefined || !replay ? undefined : replay(saved.resourceId);
      if (!again) return structuredClone(saved.response);
      return { ...again, headers: { ...saved.response.headers, ...again.headers } };
    }
    const done = work();
    this.inflight.set(id, { bodyHash, done });
    try {
      const res = await done;
      if (res.status >= 200 && res.status < 300) {
        const resourceId =
          replay && res.body !== null && typeof res.body === 'object' && 'id' in res.body
            ? String((res.body as { id: unknown }).id)
            : undefined;
        this.store.put({
          id,
          bodyHash,
          expiresAtMs: this.nowMs() + this.ttlMs,
          ...(resourceId === undefined ? {} : { resourceId }),
          response: {
            status: res.status,
            headers: { ...(res.headers ?? {}) },
            body: res.body === undefined ? undefined : structuredClone(res.body),
          },
        });
      }
      return res;
    } finally {
      this.inflight.delete(id);
    }
  }
}
