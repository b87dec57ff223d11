/**
 * The scale-dac use case: one Monitoring alarm message (delivered by Notifications to the
 * function, at least once) becomes at most one resize: `updateDedicatedAiCluster` (unit count) for
 * a hosting cluster, or `updateModelDeployment` (FIXED_SIZE instance count) for a Data Science
 * model deployment. The same policy, bounds, cooldowns and lease govern both.
 *
 * Flow: parse (shared/scaling/alarm.ts) -> read the resource -> find the workflow that manages it
 * (a cluster: its `genai.hostingClusters` names it by OCID or display name; a model deployment:
 * its `dacflowWorkflow` tag, which must be the workflow the alarm body names) -> drop duplicates
 * (dedupeKey + timestamp, kept in the cluster record) -> take the cluster's lease (expiring with
 * the invocation) -> re-read the cluster for a fresh etag -> `decideScaling` -> update with
 * `ifMatch` -> save the decision and release the lease in one conditional write -> notify.
 *
 * Safety: RESET never scales and FIRING_TO_OK only records (the pure policy); a resource that is
 * UPDATING waits for the next REPEAT; a 412 (someone else changed the cluster) or 409 records the
 * message and waits for the next REPEAT with a fresh read; throttling or a 5xx that outlived the
 * SDK's retries does not record the message, so a redelivery can act.
 */
import type { DataScienceClient, models as dsModels } from 'oci-datascience';
import { GenerativeAiClient } from 'oci-generativeai';
import { ObjectStorageClient } from 'oci-objectstorage';
import { NotificationDataPlaneClient } from 'oci-ons';
import { getConfig, loadWorkflows } from '#shared/config.ts';
import * as clients from '#shared/oci/clients.ts';
import { cjsExports } from '#shared/oci/clients.ts';
import * as notify from '#shared/notify.ts';
import * as cas from '#shared/state/cas.ts';
import * as store from '#shared/state/object-storage.ts';
import * as clusters from '#shared/state/clusters.ts';
import type { ClusterRepository } from '#shared/state/clusters.ts';
import type { ScalingNotification, ScaledResourceKind } from '#shared/notify.ts';
import { errorMessage } from '#shared/errors.ts';
import type { Logger } from '#shared/log.ts';
import { parseAlarmMessage, type AlarmSignal } from '#shared/scaling/alarm.ts';
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

export type ScaleDataSciencePort = Pick<
  DataScienceClient,
  'getModelDeployment' | 'updateModelDeployment'
>;

export interface ScaleDeps {
  genai: ScaleGenAiPort;
  /** Model deployments; absent when no workflow uses the datascience backend. */
  datascience?: ScaleDataSciencePort;
  clusters: ClusterRepository<ClusterScalingState>;
  workflows: readonly Workflow[];
  /** Publishes a scaling notification (shared/notify.ts Notifier). Must not throw. */
  notify(n: ScalingNotification, workflow: Workflow): Promise<void>;
  now(): Date;
  log: Logger;
  /**
   * The dimension naming the resource when the alarm body does not (`resourceId`): hosting-cluster
   * alarms without a dacflow body, and every model-deployment alarm.
   */
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
  /** The cluster or model deployment update was accepted. */
  Scaled: 'SCALED',
  /** The policy said NONE (or the message only records a state change). */
  NoAction: 'NO_ACTION',
  /** Seen before (dedupeKey + timestamp). */
  Duplicate: 'DUPLICATE',
  /** Not an alarm dacflow can act on (parse error, unknown or unmanaged resource). */
  Ignored: 'IGNORED',
  /** Another invocation held the resource's lease for the whole wait; the next REPEAT re-delivers. */
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
  /** The scaled resource's OCID: a hosting cluster or (resourceKind MODEL_DEPLOYMENT) a deployment. */
  clusterId?: string;
  resourceKind?: ScaledResourceKind;
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

/**
 * One resource scale-dac resizes, as just read: a hosting cluster (units) or a model deployment
 * (instances; `modelId` is needed again to update it).
 */
interface Scalable {
  id: string;
  displayName?: string;
  units: number;
  lifecycleState: string;
  etag: string | undefined;
  tags: Readonly<Record<string, string>>;
  modelId?: string;
}

/** Why an alarm's resource is not one dacflow resizes. */
interface NotManaged {
  code: string;
  reason: string;
}

/** How scale-dac reads, attributes and resizes one kind of resource. */
interface TargetKind {
  kind: ScaledResourceKind;
  /** For messages: "cluster" or "model deployment". */
  noun: string;
  read(id: string): Promise<Scalable | NotManaged>;
  workflowFor(
    workflows: readonly Workflow[],
    r: Scalable,
    signal: AlarmSignal,
  ): Workflow | NotManaged;
  /** Starts the resize; returns the work request id. */
  resize(r: Scalable, units: number): Promise<string | undefined>;
  readOperation: string;
  updateOperation: string;
}

const modelDeploymentOcid = /^ocid1\.datasciencemodeldeployment\./;

function clusterTarget(genai: ScaleGenAiPort): TargetKind {
  return {
    kind: 'DEDICATED_AI_CLUSTER',
    noun: 'cluster',
    readOperation: 'getDedicatedAiCluster',
    updateOperation: 'updateDedicatedAiCluster',
    async read(id) {
      const res = await genai.getDedicatedAiCluster({ dedicatedAiClusterId: id });
      const c = res.dedicatedAiCluster;
      return {
        id: c.id,
        ...(c.displayName ? { displayName: c.displayName } : {}),
        units: c.unitCount,
        lifecycleState: c.lifecycleState,
        etag: res.etag,
        tags: c.freeformTags ?? {},
      };
    },
    workflowFor(workflows, r, signal) {
      const w = managingWorkflow(workflows, r);
      if (!w?.autoscaling || (signal.workflow !== undefined && signal.workflow !== w.name)) {
        return {
          code: 'CLUSTER_NOT_MANAGED',
          reason: 'no workflow with autoscaling lists this cluster in genai.hostingClusters',
        };
      }
      return w;
    },
    async resize(r, units) {
      const res = await genai.updateDedicatedAiCluster({
        dedicatedAiClusterId: r.id,
        updateDedicatedAiClusterDetails: { unitCount: units },
        ...(r.etag ? { ifMatch: r.etag } : {}),
      });
      return res.opcWorkRequestId;
    },
  };
}

function deploymentTarget(ds: ScaleDataSciencePort): TargetKind {
  return {
    kind: 'MODEL_DEPLOYMENT',
    noun: 'model deployment',
    readOperation: 'getModelDeployment',
    updateOperation: 'updateModelDeployment',
    async read(id) {
      const res = await ds.getModelDeployment({ modelDeploymentId: id });
      const md = res.modelDeployment;
      const config = md.modelDeploymentConfigurationDetails as
        dsModels.SingleModelDeploymentConfigurationDetails | undefined;
      const policy = config?.modelConfigurationDetails?.scalingPolicy;
      if (config?.deploymentType !== 'SINGLE_MODEL' || !config.modelConfigurationDetails) {
        return {
          code: 'DEPLOYMENT_TYPE_UNSUPPORTED',
          reason: `model deployment type ${config?.deploymentType ?? '(none)'}: dacflow resizes SINGLE_MODEL deployments`,
        };
      }
      if (policy?.policyType !== 'FIXED_SIZE') {
        // OCI's own autoscaling owns the count; two controllers on one deployment would flap.
        return {
          code: 'DEPLOYMENT_AUTOSCALED_BY_OCI',
          reason: `model deployment scaling policy is ${policy?.policyType ?? '(none)'}: dacflow only resizes FIXED_SIZE deployments`,
        };
      }
      return {
        id: md.id,
        displayName: md.displayName,
        units: (policy as dsModels.FixedSizeScalingPolicy).instanceCount,
        lifecycleState: md.lifecycleState,
        etag: res.etag,
        tags: md.freeformTags ?? {},
        modelId: config.modelConfigurationDetails.modelId,
      };
    },
    workflowFor(workflows, r, signal) {
      // Deploys tag each deployment with its workflow (shared/pipeline/datascience.ts).
      const tag = r.tags.dacflowWorkflow;
      if (tag === undefined) {
        return {
          code: 'DEPLOYMENT_NOT_MANAGED',
          reason: 'the model deployment has no dacflowWorkflow tag: dacflow did not create it',
        };
      }
      if (signal.workflow !== undefined && signal.workflow !== tag) {
        // One alarm per workflow covers the whole compartment: another workflow's alarm.
        return {
          code: 'OTHER_WORKFLOW',
          reason: `the model deployment belongs to workflow ${tag}, the alarm to ${signal.workflow}`,
        };
      }
      const w = workflows.find((x) => x.name === tag && x.datascience && x.autoscaling);
      return (
        w ?? {
          code: 'DEPLOYMENT_NOT_MANAGED',
          reason: `workflow ${tag} is not a datascience workflow with autoscaling`,
        }
      );
    },
    async resize(r, units) {
      const details: dsModels.UpdateSingleModelDeploymentConfigurationDetails = {
        deploymentType: 'SINGLE_MODEL',
        modelConfigurationDetails: {
          modelId: r.modelId!,
          scalingPolicy: { policyType: 'FIXED_SIZE', instanceCount: units },
        },
      };
      const res = await ds.updateModelDeployment({
        modelDeploymentId: r.id,
        updateModelDeploymentDetails: { modelDeploymentConfigurationDetails: details },
        ...(r.etag ? { ifMatch: r.etag } : {}),
      });
      return res.opcWorkRequestId;
    },
  };
}

function targetFor(deps: ScaleDeps, id: string): TargetKind | NotManaged {
  if (!modelDeploymentOcid.test(id)) return clusterTarget(deps.genai);
  if (!deps.datascience) {
    return {
      code: 'DEPLOYMENT_NOT_MANAGED',
      reason: 'no datascience workflow is configured, so no model deployment is autoscaled',
    };
  }
  return deploymentTarget(deps.datascience);
}

const isNotManaged = (x: object): x is NotManaged => 'code' in x && 'reason' in x;

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
  const log = deps.log.child({ clusterId: signal.clusterId, rule: signal.rule, type: signal.type });
  const target = targetFor(deps, signal.clusterId);
  const base = {
    clusterId: signal.clusterId,
    ...(isNotManaged(target) ? {} : { resourceKind: target.kind }),
    rule: signal.rule,
    alarmType: signal.type,
  };
  if (isNotManaged(target)) {
    log.warn('alarm for a resource no workflow autoscales', { code: target.code });
    return { ...base, outcome: ScaleOutcome.Ignored, ...target, retryable: false };
  }

  const first = await readResource(target, signal.clusterId);
  if (!first.ok) return { ...base, ...first.result };
  const workflow = target.workflowFor(deps.workflows, first.resource, signal);
  if (isNotManaged(workflow)) {
    log.warn(`alarm for a ${target.noun} no workflow autoscales`, { code: workflow.code });
    return { ...base, outcome: ScaleOutcome.Ignored, ...workflow, retryable: false };
  }
  const withWf = { ...base, workflow: workflow.name };
  const policy = policyFromAutoscaling(workflow.autoscaling!);

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
    log.info(`${target.noun} busy with another invocation`, {});
    return {
      ...withWf,
      outcome: ScaleOutcome.Busy,
      reason: `another invocation holds the ${target.noun} lease; the next REPEAT re-delivers`,
      retryable: true,
    };
  }

  try {
    const fresh = await readResource(target, signal.clusterId);
    if (!fresh.ok) {
      await deps.clusters.release(signal.clusterId, token, deps.now().getTime());
      return { ...withWf, ...fresh.result };
    }
    const resource = fresh.resource;
    const state = lease.record.scaling;
    const now = deps.now();
    const d = decideScaling(
      state,
      signal,
      { unitCount: resource.units, lifecycleState: resource.lifecycleState },
      policy,
      now,
    );
    const from = resource.units;
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
      workRequestId = await target.resize(resource, d.targetUnits);
    } catch (err) {
      return await updateFailed(deps, {
        err,
        target,
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
    log.info(`${target.noun} scaled`, {
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
        clusterId: resource.id,
        ...(target.kind === 'MODEL_DEPLOYMENT' ? { resourceKind: target.kind } : {}),
        workflow: workflow.name,
        fromUnits: from,
        toUnits: d.targetUnits,
        reasonCode: signal.rule,
        monthlyCostChangeUsd: costChange,
        alarmIds: signal.alarmIds,
        at: now.toISOString(),
        ...(workRequestId ? { workRequestId } : {}),
        dedupeKey: `${resource.id}:${signal.dedupeId}`,
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
    // Unexpected (state store down, a bug): free the resource so a retry can run, then fail.
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
    target: TargetKind;
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
  const codePrefix = f.target.kind === 'MODEL_DEPLOYMENT' ? 'DEPLOYMENT' : 'CLUSTER';
  const nowMs = deps.now().getTime();
  const transient = failure.kind === 'TRANSIENT';
  const benign = failure.status === 412 || failure.status === 409;
  if (transient) {
    // Not recorded: a redelivery of this message may act once OCI recovers.
    await deps.clusters.release(clusterId, f.token, nowMs);
  } else {
    await deps.clusters.update(clusterId, () => f.signalRecord, { nowMs, token: f.token });
  }
  f.log.warn(`${f.target.noun} update failed`, {
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
        ...(f.target.kind === 'MODEL_DEPLOYMENT' ? { resourceKind: f.target.kind } : {}),
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
        ? `${codePrefix}_CHANGED`
        : failure.status === 409
          ? `${codePrefix}_NOT_READY`
          : failure.code,
    reason: benign
      ? `${f.target.noun} changed or not ready (HTTP ${failure.status}): re-read on the next REPEAT`
      : `${f.target.updateOperation} failed: HTTP ${failure.status} ${failure.code}`,
    fromUnits: f.from,
    toUnits: f.from,
    retryable: transient,
  };
}

type ReadOk = { ok: true; resource: Scalable };
type ReadFail = { ok: false; result: ScaleResult };

async function readResource(target: TargetKind, id: string): Promise<ReadOk | ReadFail> {
  let read: Scalable | NotManaged;
  try {
    read = await target.read(id);
  } catch (err) {
    const f = classifyOciError(err);
    if (f.kind === 'NOT_FOUND') {
      return {
        ok: false,
        result: {
          outcome: ScaleOutcome.Ignored,
          code: target.kind === 'MODEL_DEPLOYMENT' ? 'DEPLOYMENT_NOT_FOUND' : 'CLUSTER_NOT_FOUND',
          reason: `the ${target.noun} the alarm names does not exist`,
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
          reason: `${target.readOperation} failed: HTTP ${f.status}`,
          retryable: true,
        },
      };
    }
    throw err;
  }
  if (isNotManaged(read)) {
    return { ok: false, result: { outcome: ScaleOutcome.Ignored, ...read, retryable: false } };
  }
  return { ok: true, resource: read };
}

let wired: Promise<Omit<ScaleDeps, 'log'>> | undefined;

/**
 * The scale-dac dependencies from the function's configuration: the shared GenerativeAiClient
 * (and DataScienceClient when a workflow uses that backend), the Object Storage state store (cluster records under `clusters/`) and the notifier. Built once
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
  // The Data Science SDK module (a large one) is loaded only when some workflow uses that backend.
  const datascience = workflows.some((w) => w.backend === 'datascience')
    ? clients.getClient(cjsExports(await import('oci-datascience')).DataScienceClient)
    : undefined;
  return {
    genai: clients.getClient(GenerativeAiClient),
    ...(datascience ? { datascience } : {}),
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
