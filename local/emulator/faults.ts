/**
 * Seeded fault injection. Each operation name has its own random stream, derived from the seed and
 * the name, so the faults one operation sees do not depend on how other operations interleave.
 */

/** The errors OCI's SDK default retry treats as retryable (oci-common retrier.js). */
export const faultKinds = ['429', '500', '503', '409'] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface FaultOptions {
  /** Probability per request of an injected fault (0..1). */
  rate: number;
  /** Added latency: a seeded uniform draw in [0, latencyMs]. */
  latencyMs?: number;
  /** Probability that an event or notification delivery is delivered twice. */
  duplicateEvents?: number;
  /** Probability that an event delivery is dropped. */
  dropEvents?: number;
  /** Fraction of injected 5xx faults returned AFTER the operation took effect. */
  postCommitRate?: number;
  /** Restrict injection to these operation names (e.g. `PutObject`). */
  operations?: string[];
  /** Restrict the kinds of fault injected; all four by default. */
  kinds?: FaultKind[];
}

export interface FaultDecision {
  operation: string;
  /** Undefined when the request passes untouched. */
  kind?: FaultKind;
  /** True when the fault is returned after the operation ran (5xx only). */
  postCommit: boolean;
  latencyMs: number;
}

/** mulberry32: a small, well-known 32-bit PRNG; good enough for reproducible test faults. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string, to derive a per-name seed. */
export function hashString(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Draws reproducible fault decisions per operation name. */
export class FaultInjector {
  private readonly streams = new Map<string, () => number>();
  private options: FaultOptions | undefined;
  /** Every injected fault, in order (tests and `doctor` read it). */
  readonly injected: FaultDecision[] = [];

  constructor(
    private readonly seed: number,
    options?: FaultOptions,
  ) {
    this.options = options;
  }

  set(options: FaultOptions | undefined): void {
    this.options = options;
    this.streams.clear();
  }

  get current(): FaultOptions | undefined {
    return this.options;
  }

  /** A random stream of its own for `name` (event delivery uses `delivery:<target>`). */
  random(name: string): () => number {
    let r = this.streams.get(name);
    if (!r) {
      r = mulberry32(hashString(name, this.seed));
      this.streams.set(name, r);
    }
    return r;
  }

  decide(operation: string): FaultDecision {
    const o = this.options;
    const none: FaultDecision = { operation, postCommit: false, latencyMs: 0 };
    if (!o || (o.operations && !o.operations.includes(operation))) return none;
    const r = this.random(operation);
    // Always draw the same number of values so the sequence does not depend on earlier outcomes.
    const [pFault, pKind, pPost, pLatency] = [r(), r(), r(), r()];
    const latencyMs = o.latencyMs ? Math.floor(pLatency * o.latencyMs) : 0;
    if (pFault >= o.rate) return { ...none, latencyMs };
    const kinds = o.kinds && o.kinds.length > 0 ? o.kinds : faultKinds;
    const kind = kinds[Math.min(kinds.length - 1, Math.floor(pKind * kinds.length))] as FaultKind;
    const postCommit = (kind === '500' || kind === '503') && pPost < (o.postCommitRate ?? 0);
    const decision = { operation, kind, postCommit, latencyMs };
    this.injected.push(decision);
    return decision;
  }

  /** For event/notification deliveries: how many copies to deliver (0, 1 or 2). */
  deliveryCopies(target: string): number {
    const o = this.options;
    if (!o) return 1;
    const r = this.random(`delivery:${target}`);
    const [pDrop, pDup] = [r(), r()];
    if (pDrop < (o.dropEvents ?? 0)) return 0;
    return pDup < (o.duplicateEvents ?? 0) ? 2 : 1;
  }
}

export const faultResponses: Record<FaultKind, { status: number; code: string; message: string }> =
  {
    '429': { status: 429, code: 'TooManyRequests', message: 'Injected fault: too many requests' },
    '500': {
      status: 500,
      code: 'InternalServerError',
      message: 'Injected fault: internal server error',
    },
    '503': {
      status: 503,
      code: 'ServiceUnavailable',
      message: 'Injected fault: service unavailable',
    },
    '409': { status: 409, code: 'IncorrectState', message: 'Injected fault: incorrect state' },
  };
