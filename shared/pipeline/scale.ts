/**
 * The scale-dac use case: one Monitoring alarm message (delivered by Notifications to the
 * function, at least once) becomes at most one `updateDedicatedAiCluster` call.
 *
 * Flow: parse (shared/scaling/alarm.ts) -> read the cluster -> find the workflow that manages it
 * (its `genai.hostingClusters` names the cluster by OCID or display name) -> drop duplicates
 * (dedupeKey + timestamp, kept in the cluster record) -> take the cluster's lease (expiring with
 * the invocation) -> re-read the cluster for a fresh etag -> `decideScaling` -> update with
 * `ifMatch` -> save the decision and release the lease in one conditional write -> notify.
 *
 * Safety: RESET never scales and FIRING_TO_OK only records (the pure policy); a cluster that is
 * UPDATING waits for the next REPEAT; a 412 (someone else changed the cluster) or 409 records the
 * message and waits for the next REPEAT with a fresh read; throttling or a 5xx that outlived the
 * SDK's retries does not record the message, so a redelivery can act.
 */
import { GenerativeAiClient } from 'oci-generativeai';
import { ObjectStorageClient } from 'oci-objectstorage';
import { NotificationDataPlaneClient } from 'oci-ons';
import { getConfig, loadWorkflows } from '#shared/config.ts';
import * as clients from '#shared/oci/clients.ts';
import * as notify from '#shared/notify.ts';
import * as cas from '#shared/state/cas.ts';
import * as store from '#shared/state/object-storage.ts';
import * as clusters from '#shared/state/clusters.ts';
import type { ClusterRepository } from '#shared/state/clusters.ts';
import type { ScalingNotification } from '#shared/notify.ts';
import { errorMessage } from '#shared/errors.ts';
import type { Logger } from '#shared/log.ts';
import { parseAlarmMessage } from '#shared/scaling/alarm.ts';
import {
  decideScaling,
  defaultScalingPolicy,
  validateScalingPolicy,
  type ClusterScalingState,
  type ScalingPolicy,
} from '#shared/scaling/policy.ts';
import type { AutoscalingSection, Workflow } from '#workflows/schema.ts';
import { classifyOciError } from './errors.ts';

export type ScaleGenAiPort = Pick<
  GenerativeAiClient,
  'getDedicatedAiCluster' | 'updateDedicatedAiCluster'
>;

export interface ScaleDeps {
  genai: ScaleGenAiPort;
  clusters: ClusterRepository<ClusterScalingState>;
  workflows: readonly Workflow[];
  /** Publishes a scaling notification (shared/notify.ts Notifier). Must not throw. */
  notify(n: ScalingNotification, workflow: Workflow): Promise<void>;
  now(): Date;
  log: Logger;
  /** The dimension naming the cluster when an alarm has no dacflow body (`resourceId`). */
  resourceDimension?: string;
  /**
   * How long to wait for another invocation's lease on the same cluster (default 10 s, never
   * more than half the invocation's remaining time). Alarms on one cluster often fire in the same
   * minute, and a FIRING_TO_OK is never repeated, so dropping it would leave a rule recorded as
   * firing.
   */
  leaseWaitMs?: number;
  /** Real-time sleep between lease attempts; setTimeout by default. */
  sleep?: (ms: number) => Promise<void>;
}

/** What this invocation is: its lease token and how long it may still run. */
export interface ScaleInvocation {
  /** The function call id: the lease's owner. */
  token: string;
  /** Milliseconds until the invocation must have ended; the lease lasts no longer. */
  remainingMs: number;
}

export const ScaleOutcome = {
  /** The cluster update was accepted. */
  Scaled: 'SCALED',
  /** The policy said NONE (or the message only records a state change). */
  NoAction: 'NO_ACTION',
  /** Seen before (dedupeKey + timestamp). */
  Duplicate: 'DUPLICATE',
  /** Not an alarm dacflow can act on (parse error, unknown or unmanaged cluster). */
  Ignored: 'IGNORED',
  /** Another invocation held the cluster's lease for the whole wait; the next REPEAT re-delivers. */
  Busy: 'BUSY',
  /** The update was refused (412, 409, 4xx) or failed after retries. */
  Failed: 'FAILED',
} as const;
export type ScaleOutcome = (typeof ScaleOutcome)[keyof typeof ScaleOutcome];

export interface ScaleResult {
  outcome: ScaleOutcome;
  /** Stable code for IGNORED and FAILED. */
  code?: string;
  reason: string;
  clusterId?: string;
  workflow?: string;
  rule?: string;
  alarmType?: string;
  fromUnits?: number;
  toUnits?: number;
  monthlyCostChangeUsd?: number;
  workRequestId?: string;
  /** True when a later delivery of the same message could succeed. */
  retryable: boolean;
}

const ocidPattern = /^ocid1\./;

/**
 * The policy for a workflow's `autoscaling` section: every policy field the section carries, the
 * policy defaults (shared/scaling/policy.ts) for any it does not, then the policy's own
 * cross-field validation. Throws `ScalingPolicyError` for a contradictory section.
 */
export function policyFromAutoscaling(a: AutoscalingSection): ScalingPolicy {
  const section = a as unknown as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...defaultScalingPolicy };
  for (const key of [...Object.keys(defaultScalingPolicy), 'maxMonthlyCostUsd']) {
    if (section[key] !== undefined) merged[key] = section[key];
  }
  return validateScalingPolicy(merged);
}

/** The workflow with autoscaling that lists this cluster (by OCID, else by display name). */
export function managingWorkflow(
  workflows: readonly Workflow[],
  cluster: { id: string; displayName?: string },
): Workflow | undefined {
  const managed = workflows.filter((w) => w.autoscaling && w.genai);
  return (
    managed.find((w) => w.genai!.hostingClusters.includes(cluster.id)) ??
    managed.find(
      (w) =>
        cluster.displayName !== undefined &&
        w.genai!.hostingClusters.some((c) => !ocidPattern.test(c) && c === cluster.displayName),
    )
  );
}

/** Monthly cost of `units` under the policy's unit price (product notes: about $1,500). */
export function monthlyCostUsd(units: number, policy: ScalingPolicy): number {
  return units * policy.unitCostUsdPerMonth;
}

/** Handles one alarm message; never throws for a known failure (the result says what happened). */
export async function handleAlarm(
  deps: ScaleDeps,
  message: unknown,
  invocation: ScaleInvocation,
): Promise<ScaleResult> {
  const parsed = parseAlarmMessage(message, {
    ...(deps.resourceDimension ? { resourceDimension: deps.resourceDimension } : {}),
  });
  if (!parsed.ok) {
    deps.log.warn('alarm message ignored', { code: parsed.error.code });
    return {
      outcome: ScaleOutcome.Ignored,
      code: parsed.error.code,
      reason: parsed.error.message,
      retryable: false,
    };
  }
  const signal = parsed.signal;
  const base = { clusterId: signal.clusterId, rule: signal.rule, alarmType: signal.type };
  const log = deps.log.child({ clusterId: signal.clusterId, rule: signal.rule, type: signal.type });

  const first = await readCluster(deps, signal.clusterId);
  if (!first.ok) return { ...base, ...first.result };
  const workflow = managingWorkflow(deps.workflows, first.cluster);
  if (!workflow?.autoscaling) {
    log.warn('alarm for a cluster no workflow autoscales', {});
    return {
      ...base,
      outcome: ScaleOutcome.Ignored,
      code: 'CLUSTER_NOT_MANAGED',
      reason: 'no workflow with autoscaling lists this cluster in genai.hostingClusters',
      retryable: false,
    };
  }
  const withWf = { ...base, workflow: workflow.name };
  const policy = policyFromAutoscaling(workflow.autoscaling);

  // Cheap duplicate check before taking the lease; decideScaling checks again under it.
  const nowMs = deps.now().getTime();
  const before = await deps.clusters.get(signal.clusterId, nowMs);
  if (before?.scaling.recentSignalIds.includes(signal.dedupeId)) {
    log.info('duplicate alarm message', { dedupeId: signal.dedupeId });
    return { ...withWf, outcome: ScaleOutcome.Duplicate, reason: 'seen before', retryable: false };
  }

  const { token } = invocation;
  const lease = await acquireWithWait(deps, signal.clusterId, invocation);
  if (!lease.acquired) {
    log.info('cluster busy with another invocation', {});
    return {
      ...withWf,
      outcome: ScaleOutcome.Busy,
      reason: 'another invocation holds the cluster lease; the next REPEAT re-delivers',
      retryable: true,
    };
  }

  try {
    const fresh = await readCluster(deps, signal.clusterId);
    if (!fresh.ok) {
      await deps.clusters.release(signal.clusterId, token, deps.now().getTime());
      return { ...withWf, ...fresh.result };
    }
    const { cluster, etag } = fresh;
    const state = lease.record.scaling;
    const now = deps.now();
    const d = decideScaling(
      state,
      signal,
      { unitCount: cluster.unitCount, lifecycleState: cluster.lifecycleState },
      policy,
      now,
    );
    const from = cluster.unitCount;
    if (d.decision === 'NONE') {
      await deps.clusters.update(signal.clusterId, () => d.nextState, {
        nowMs: now.getTime(),
        token,
      });
      log.info('no scaling action', { reason: d.reason, units: from });
      return {
        ...withWf,
        outcome: ScaleOutcome.NoAction,
        reason: d.reason,
        fromUnits: from,
        toUnits: from,
        retryable: false,
      };
    }

    const costChange = monthlyCostUsd(d.targetUnits, policy) - monthlyCostUsd(from, policy);
    let workRequestId: string | undefined;
    try {
      const res = await deps.genai.updateDedicatedAiCluster({
        dedicatedAiClusterId: cluster.id,
        updateDedicatedAiClusterDetails: { unitCount: d.targetUnits },
        ...(etag ? { ifMatch: etag } : {}),
      });
      workRequestId = res.opcWorkRequestId;
    } catch (err) {
      return await updateFailed(deps, {
        err,
        signalRecord: recordOnly(state, d.nextState),
        token,
        log,
        base: withWf,
        from,
        to: d.targetUnits,
        workflow,
        dedupeKey: signal.dedupeId,
        alarmIds: signal.alarmIds,
        costChange,
      });
    }
    await deps.clusters.update(signal.clusterId, () => d.nextState, {
      nowMs: deps.now().getTime(),
      token,
    });
    log.info('cluster scaled', {
      decision: d.decision,
      fromUnits: from,
      toUnits: d.targetUnits,
      monthlyCostChangeUsd: costChange,
      workRequestId,
    });
    await deps.notify(
      {
        kind: 'scaling',
        action: d.decision,
        clusterId: cluster.id,
        workflow: workflow.name,
        fromUnits: from,
        toUnits: d.targetUnits,
        reasonCode: signal.rule,
        monthlyCostChangeUsd: costChange,
        alarmIds: signal.alarmIds,
        at: now.toISOString(),
        ...(workRequestId ? { workRequestId } : {}),
        dedupeKey: `${cluster.id}:${signal.dedupeId}`,
      },
      workflow,
    );
    return {
      ...withWf,
      outcome: ScaleOutcome.Scaled,
      reason: d.reason,
      fromUnits: from,
      toUnits: d.targetUnits,
      monthlyCostChangeUsd: costChange,
      ...(workRequestId ? { workRequestId } : {}),
      retryable: false,
    };
  } catch (err) {
    // Unexpected (state store down, a bug): free the cluster so a retry can run, then fail.
    await deps.clusters.release(signal.clusterId, token, deps.now().getTime()).catch(() => false);
    throw err;
  }
}

async function acquireWithWait(deps: ScaleDeps, clusterId: string, invocation: ScaleInvocation) {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const budgetMs = Math.min(deps.leaseWaitMs ?? 10_000, invocation.remainingMs / 2);
  let waitedMs = 0;
  for (let attempt = 0; ; attempt++) {
    const lease = await deps.clusters.acquire(clusterId, {
      token: invocation.token,
      nowMs: deps.now().getTime(),
      remainingMs: invocation.remainingMs,
    });
    if (lease.acquired || waitedMs >= budgetMs) return lease;
    const delayMs = Math.min(1000, 25 * 2 ** attempt, budgetMs - waitedMs);
    await sleep(delayMs);
    waitedMs += delayMs;
  }
}

/** The decision's record without its action: the signal and firing set are kept. */
function recordOnly(before: ClusterScalingState, next: ClusterScalingState): ClusterScalingState {
  return {
    ...next,
    lastAction: before.lastAction,
    scaleUpCooldownUntilMs: before.scaleUpCooldownUntilMs,
    scaleDownCooldownUntilMs: before.scaleDownCooldownUntilMs,
    recentActionsMs: next.recentActionsMs.slice(0, -1),
    inFlight: before.inFlight,
  };
}

async function updateFailed(
  deps: ScaleDeps,
  f: {
    err: unknown;
    signalRecord: ClusterScalingState;
    token: string;
    log: Logger;
    base: Partial<ScaleResult>;
    from: number;
    to: number;
    workflow: Workflow;
    dedupeKey: string;
    alarmIds: string[];
    costChange: number;
  },
): Promise<ScaleResult> {
  const failure = classifyOciError(f.err);
  const clusterId = f.base.clusterId!;
  const nowMs = deps.now().getTime();
  const transient = failure.kind === 'TRANSIENT';
  const benign = failure.status === 412 || failure.status === 409;
  if (transient) {
    // Not recorded: a redelivery of this message may act once OCI recovers.
    await deps.clusters.release(clusterId, f.token, nowMs);
  } else {
    await deps.clusters.update(clusterId, () => f.signalRecord, { nowMs, token: f.token });
  }
  f.log.warn('cluster update failed', {
    status: failure.status,
    code: failure.code,
    fromUnits: f.from,
    toUnits: f.to,
    error: errorMessage(f.err).slice(0, 200),
  });
  if (!benign) {
    await deps.notify(
      {
        kind: 'scaling',
        action: 'SCALE_FAILED',
        clusterId,
        workflow: f.workflow.name,
        fromUnits: f.from,
        toUnits: f.to,
        reasonCode: f.base.rule ?? 'UNKNOWN',
        alarmIds: f.alarmIds,
        at: new Date(nowMs).toISOString(),
        errorCode: failure.code,
        dedupeKey: `${clusterId}:${f.dedupeKey}:failed`,
      },
      f.workflow,
    );
  }
  return {
    ...f.base,
    outcome: ScaleOutcome.Failed,
    code:
      failure.status === 412
        ? 'CLUSTER_CHANGED'
        : failure.status === 409
          ? 'CLUSTER_NOT_READY'
          : failure.code,
    reason: benign
      ? `cluster changed or not ready (HTTP ${failure.status}): re-read on the next REPEAT`
      : `updateDedicatedAiCluster failed: HTTP ${failure.status} ${failure.code}`,
    fromUnits: f.from,
    toUnits: f.from,
    retryable: transient,
  };
}

type ReadOk = {
  ok: true;
  cluster: { id: string; displayName?: string; unitCount: number; lifecycleState: string };
  etag: string | undefined;
};
type ReadFail = { ok: false; result: ScaleResult };

async function readCluster(deps: ScaleDeps, clusterId: string): Promise<ReadOk | ReadFail> {
  try {
    const res = await deps.genai.getDedicatedAiCluster({ dedicatedAiClusterId: clusterId });
    const c = res.dedicatedAiCluster;
    return {
      ok: true,
      cluster: {
        id: c.id,
        ...(c.displayName ? { displayName: c.displayName } : {}),
        unitCount: c.unitCount,
        lifecycleState: c.lifecycleState,
      },
      etag: res.etag,
    };
  } catch (err) {
    const f = classifyOciError(err);
    if (f.kind === 'NOT_FOUND') {
      return {
        ok: false,
        result: {
          outcome: ScaleOutcome.Ignored,
          code: 'CLUSTER_NOT_FOUND',
          reason: 'the cluster the alarm names does not exist',
          retryable: false,
        },
      };
    }
    if (f.kind === 'TRANSIENT') {
      return {
        ok: false,
        result: {
          outcome: ScaleOutcome.Failed,
          code: f.code,
          reason: `getDedicatedAiCluster failed: HTTP ${f.status}`,
          retryable: true,
        },
      };
    }
    throw err;
  }
}

let wired: Promise<Omit<ScaleDeps, 'log'>> | undefined;

/**
 * The scale-dac dependencies from the function's configuration: the shared GenerativeAiClient,
 * the Object Storage state store (cluster records under `clusters/`) and the notifier. Built once
 * per container; a failed build is retried by the next call.
 */
export async function scaleDepsFromEnv(log: Logger): Promise<ScaleDeps> {
  wired ??= buildScaleDeps(log).catch((err: unknown) => {
    wired = undefined;
    throw err;
  });
  return { ...(await wired), log };
}

async function buildScaleDeps(log: Logger): Promise<Omit<ScaleDeps, 'log'>> {
  // Static imports above: this module loads with the handler, on a function's first call; a dynamic
  // import() of a CommonJS SDK package inside a split bundle can lose its named exports.
  const config = getConfig();
  const workflows = loadWorkflows(config);
  const objects = clients.getClient(ObjectStorageClient);
  const namespace = await clients.objectStorageNamespace(objects, config.stateNamespace);
  const repo = clusters.createClusterRepository(
    new store.ObjectStorageStore({ client: objects, namespace, bucket: config.stateBucket }),
    cas.realCasDeps,
  );
  const notifier = new notify.Notifier(clients.getClient(NotificationDataPlaneClient), { log });
  return {
    genai: clients.getClient(GenerativeAiClient),
    clusters: repo,
    workflows,
    async notify(n, workflow) {
      await notifier.publish(n, {
        topicId: workflow.notifications.topicId ?? config.pipelineTopicId,
      });
    },
    now: () => new Date(),
  };
}
