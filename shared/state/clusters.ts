/**
 * Per-cluster scaling records (`clusters/<clusterId>`): the scaling policy's memory (last action,
 * cooldowns, recent actions, firing alarms; `ClusterScalingState` in shared/scaling/policy.ts) plus
 * an invocation lease, all behind the same compare-and-set as runs.
 *
 * The lease is the Powertools idempotency "INPROGRESS" record: one alarm invocation per cluster at
 * a time, taken with a conditional write, expiring when the invocation that took it must have
 * ended (its remaining time), re-checked on every read instead of trusting any store TTL, and
 * released on failure so a retry can run.
 */
import { initialScalingState, type ClusterScalingState } from '#shared/scaling/policy.ts';
import { casUpdate, type CasDeps } from './cas.ts';
import { StateError } from './errors.ts';
import type { DocumentStore } from './store.ts';

export interface ClusterLease {
  /** Whoever holds it: the function call id, say. */
  token: string;
  acquiredAtMs: number;
  /** `acquiredAtMs` + the invocation's remaining time: after this the holder is surely gone. */
  expiresAtMs: number;
}

export interface ClusterRecord<S = ClusterScalingState> {
  clusterId: string;
  /** Incremented on every write. */
  version: number;
  scaling: S;
  lease: ClusterLease | null;
  updatedAtMs: number;
}

/** Another invocation holds an unexpired lease on the cluster. */
export class LeaseHeldError extends StateError {
  constructor(clusterId: string, heldUntilMs: number) {
    super(`cluster ${clusterId} is being scaled by another invocation`, {
      code: 'CLUSTER_LEASE_HELD',
      retryable: true,
      context: { clusterId, heldUntilMs },
    });
    this.name = 'LeaseHeldError';
  }
}

export const clusterKey = (clusterId: string) => `clusters/${clusterId}`;

export interface AcquireOptions {
  token: string;
  nowMs: number;
  /** The invocation's remaining time (deadline minus now): the lease lives no longer. */
  remainingMs: number;
}

export interface AcquireResult<S> {
  acquired: boolean;
  record: ClusterRecord<S>;
}

/** The lease as of `nowMs`: null when absent or expired (expiry is re-checked on every read). */
export function liveLease(lease: ClusterLease | null, nowMs: number): ClusterLease | null {
  return lease !== null && lease.expiresAtMs > nowMs ? lease : null;
}

export class ClusterRepository<S = ClusterScalingState> {
  constructor(
    private readonly store: DocumentStore,
    private readonly deps: { cas: CasDeps; initialState: (clusterId: string) => S },
  ) {}

  /** The record with an expired lease shown as none; undefined for a cluster never seen. */
  async get(clusterId: string, nowMs: number): Promise<ClusterRecord<S> | undefined> {
    const got = await this.store.read<ClusterRecord<S>>(clusterKey(clusterId));
    return got && { ...got.doc, lease: liveLease(got.doc.lease, nowMs) };
  }

  /**
   * Takes the lease unless another unexpired one exists. Re-acquiring with the same token renews
   * it, so a redelivered invocation with the same call id is not locked out by itself.
   */
  async acquire(clusterId: string, options: AcquireOptions): Promise<AcquireResult<S>> {
    const { token, nowMs } = options;
    const lease: ClusterLease = {
      token,
      acquiredAtMs: nowMs,
      expiresAtMs: nowMs + Math.max(0, options.remainingMs),
    };
    const record = await this.write(clusterId, nowMs, (current) => {
      const held = liveLease(current.lease, nowMs);
      if (held && held.token !== token) return undefined;
      return { ...current, lease };
    });
    return { acquired: record.lease?.token === token, record };
  }

  /**
   * Applies `change` to the scaling state. With `token`, the caller must still hold the lease (or
   * no live lease may exist) and the same write releases it: the decision and the unlock land
   * together. Throws `LeaseHeldError` when someone else holds it.
   */
  async update(
    clusterId: string,
    change: (state: S) => S | undefined,
    options: { nowMs: number; token?: string },
  ): Promise<ClusterRecord<S>> {
    const { nowMs, token } = options;
    return this.write(clusterId, nowMs, (current) => {
      const held = liveLease(current.lease, nowMs);
      if (held && held.token !== token) throw new LeaseHeldError(clusterId, held.expiresAtMs);
      const scaling = change(current.scaling);
      const release = token !== undefined && current.lease !== null;
      if (scaling === undefined && !release) return undefined;
      return {
        ...current,
        scaling: scaling ?? current.scaling,
        lease: release ? null : current.lease,
      };
    });
  }

  /** Drops the lease if `token` holds it (on failure, so a retry can run). True when released. */
  async release(clusterId: string, token: string, nowMs: number): Promise<boolean> {
    const before = await this.get(clusterId, nowMs);
    if (!before || before.lease?.token !== token) return false;
    const record = await this.write(clusterId, nowMs, (current) =>
      current.lease?.token === token ? { ...current, lease: null } : undefined,
    );
    return record.lease?.token !== token;
  }

  private async write(
    clusterId: string,
    nowMs: number,
    change: (current: ClusterRecord<S>) => ClusterRecord<S> | undefined,
  ): Promise<ClusterRecord<S>> {
    const result = await casUpdate<ClusterRecord<S>>(
      this.store,
      clusterKey(clusterId),
      (current) => {
        const next = change(current);
        if (next === undefined || next === current) return undefined;
        return { ...next, version: current.version + 1, updatedAtMs: nowMs };
      },
      this.deps.cas,
      {
        initial: () => ({
          clusterId,
          version: 0,
          scaling: this.deps.initialState(clusterId),
          lease: null,
          updatedAtMs: nowMs,
        }),
      },
    );
    return result.doc;
  }
}

/** The repository for the scaling policy's own state type. */
export function createClusterRepository(
  store: DocumentStore,
  cas: CasDeps,
): ClusterRepository<ClusterScalingState> {
  return new ClusterRepository(store, { cas, initialState: initialScalingState });
}
