/**
 * The autoscaling loop, end to end, inside the local emulator: synthetic demand on a hosting
 * cluster, derived utilization posted each minute (as poll-status would), the scaling alarms
 * created through the real MonitoringClient exactly as terraform/monitoring.tf shapes them, the
 * alarms topic subscribed (ORACLE_FUNCTIONS) to the scale-dac use case run in-process, and
 * scaling notifications sent to an e-mail-subscribed topic (the emulator's outbox).
 *
 * Emulated time: one Monitoring minute lasts `monitoring.control.minuteMs`. The scale use case
 * gets a clock that runs at the same rate (one emulated minute per `minuteMs`), so the policy's
 * cooldowns and windows, written in real minutes and seconds, mean the same thing as on OCI.
 */
import * as common from 'oci-common';
import { GenerativeAiClient } from 'oci-generativeai';
import { MonitoringClient, models } from 'oci-monitoring';
import { NotificationControlPlaneClient, NotificationDataPlaneClient } from 'oci-ons';
import { ObjectStorageClient } from 'oci-objectstorage';
import { silentLogger, type Logger } from '#shared/log.ts';
import { Notifier } from '#shared/notify.ts';
import { handleAlarm, policyFromAutoscaling, type ScaleResult } from '#shared/pipeline/scale.ts';
import {
  publishDerivedUtilization,
  type UtilizationSummary,
} from '#shared/pipeline/utilization.ts';
import {
  clusterAlarmDefinitions,
  type AlarmDefinition,
  type AlarmOverrides,
} from '#shared/scaling/alarm-definitions.ts';
import { createClusterRepository } from '#shared/state/clusters.ts';
import { ObjectStorageStore } from '#shared/state/object-storage.ts';
import type { Workflow } from '#workflows/schema.ts';
import { startDemand, type DemandHandle, type DemandProfile } from './demand.ts';
import type { GenAiEmulatorService } from './genai.ts';
import type { Emulator, FunctionInvoker } from './index.ts';
import type { MonitoringService } from './monitoring.ts';

/** Test-sized overrides of the alarm windows; by default they are the policy's own. */
export type ScenarioAlarmSettings = AlarmOverrides;

export interface ScalingAlarmsOptions {
  /** From `clusterAlarmDefinitions` or `deploymentAlarmDefinitions` (shared/scaling). */
  definitions: readonly AlarmDefinition[];
  compartmentId: string;
  /** The alarms topic (subscribed by scale-dac). */
  topicId: string;
  namePrefix: string;
}

/**
 * Creates scaling alarms through the real MonitoringClient exactly as Terraform shapes them
 * (terraform/monitoring.tf for a hosting cluster, terraform/datascience.tf for a workflow's model
 * deployments: `npm run check:terraform` holds both to the same definitions); returns their ids by
 * rule. The local stack calls it to mirror a Terraform deployment.
 */
export async function createScalingAlarms(
  monitoring: Pick<MonitoringClient, 'createAlarm'>,
  o: ScalingAlarmsOptions,
): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const d of o.definitions) {
    const created = await monitoring.createAlarm({
      createAlarmDetails: {
        displayName: `${o.namePrefix}-${d.rule}`,
        compartmentId: o.compartmentId,
        metricCompartmentId: o.compartmentId,
        namespace: d.namespace,
        query: d.query,
        severity: d.severity,
        destinations: [o.topicId],
        isEnabled: true,
        pendingDuration: `PT${d.pendingMin}M`,
        repeatNotificationDuration: `PT${d.repeatMin}M`,
        isNotificationsPerMetricDimensionEnabled: d.splitPerStream,
        messageFormat: models.CreateAlarmDetails.MessageFormat.Raw,
        ruleName: d.rule,
        alarmSummary: d.summary,
        body: d.body,
      },
    });
    ids[d.rule] = created.alarm.id;
  }
  return ids;
}

export interface AutoscalingScenarioOptions {
  emulator: Emulator;
  genai: GenAiEmulatorService;
  monitoring: MonitoringService;
  /** The hosting cluster under demand; the workflow's `genai.hostingClusters` must name it. */
  clusterId: string;
  /** A workflow with `autoscaling` (and `utilization.source: derived`). */
  workflow: Workflow;
  profile: DemandProfile;
  alarms?: Partial<ScenarioAlarmSettings>;
  /** Function OCID the alarms topic delivers to (handled in-process). */
  scaleFunctionId?: string;
  /** Invocations for other function ids go here (the local runner, say). */
  otherInvoker?: FunctionInvoker;
  /** Object Storage bucket for the cluster records (created if missing). */
  stateBucket?: string;
  log?: Logger;
}

export interface AutoscalingScenario {
  alarmsTopicId: string;
  /** Where scaling notifications go (EMAIL-subscribed: read them with `emulator.outbox(id)`). */
  notifyTopicId: string;
  alarmIds: Record<string, string>;
  demand: DemandHandle;
  /** Every scale-dac result, in arrival order. */
  results(): ScaleResult[];
  /** Every derived-utilization pass. */
  utilization(): UtilizationSummary[];
  /** The emulated clock the scale use case runs on. */
  emulatedNow(): Date;
  stop(): Promise<void>;
}

/**
 * Sets the loop up and starts demand at the next emulated minute. Print, for a demo, each
 * `results()` entry with outcome SCALED (`fromUnits -> toUnits`, `rule`, `monthlyCostChangeUsd`)
 * and the `demand.history()` rows (minute, tokens/s, serving units, utilization, P99).
 */
export async function startAutoscalingScenario(
  o: AutoscalingScenarioOptions,
): Promise<AutoscalingScenario> {
  const emu = o.emulator;
  const log = o.log ?? silentLogger;
  const a = o.alarms ?? {};
  const minuteMs = o.monitoring.control.minuteMs;
  const functionId = o.scaleFunctionId ?? `ocid1.fnfunc.oc1.${emu.region}.scale-dac-local`;
  const policy = policyFromAutoscaling(o.workflow.autoscaling!);

  const provider = new common.ConfigFileAuthenticationDetailsProvider(emu.configFile, emu.profile);
  const make = <T extends { endpoint: string }>(C: new (p: common.AuthParams) => T): T => {
    const c = new C({ authenticationDetailsProvider: provider });
    c.endpoint = emu.url;
    return c;
  };
  const monitoring = make(MonitoringClient);
  const genai = make(GenerativeAiClient);
  const onsCp = make(NotificationControlPlaneClient);
  const onsDp = make(NotificationDataPlaneClient);
  const objects = make(ObjectStorageClient);

  const topic = async (name: string, protocol: string, endpoint: string) => {
    const id = (
      await onsCp.createTopic({ createTopicDetails: { name, compartmentId: emu.compartmentId } })
    ).notificationTopic.topicId;
    await onsDp.createSubscription({
      createSubscriptionDetails: {
        topicId: id,
        compartmentId: emu.compartmentId,
        protocol,
        endpoint,
      },
    });
    return id;
  };
  const suffix = Date.now().toString(36);
  const alarmsTopicId = await topic(`dacflow-alarms-${suffix}`, 'ORACLE_FUNCTIONS', functionId);
  const notifyTopicId =
    o.workflow.notifications.topicId ??
    (await topic(`dacflow-scaling-${suffix}`, 'EMAIL', 'ops@example.com'));

  const alarmIds = await createScalingAlarms(monitoring, {
    definitions: clusterAlarmDefinitions(policy, o.clusterId, a),
    compartmentId: emu.compartmentId,
    topicId: alarmsTopicId,
    namePrefix: `dacflow-${o.workflow.name}-${suffix}`,
  });

  const bucket = o.stateBucket ?? 'dacflow-state';
  try {
    await objects.createBucket({
      namespaceName: emu.namespace,
      createBucketDetails: { name: bucket, compartmentId: emu.compartmentId },
    });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 409) throw err;
  }
  const clusters = createClusterRepository(
    new ObjectStorageStore({ client: objects, namespace: emu.namespace, bucket }),
    { random: Math.random, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
  );

  // One emulated minute per `minuteMs` of real time, anchored now.
  const anchorMs = Date.now();
  const dilation = 60_000 / minuteMs;
  const emulatedNow = () => new Date(anchorMs + (Date.now() - anchorMs) * dilation);
  const notifier = new Notifier(onsDp, { log });
  const results: ScaleResult[] = [];
  let calls = 0;
  const deps = {
    genai,
    clusters,
    workflows: [o.workflow],
    notify: async (n: Parameters<Notifier['publish']>[0]) => {
      await notifier.publish(n, { topicId: notifyTopicId });
    },
    now: emulatedNow,
    log,
  };
  emu.setInvoker(async (id, body, headers) => {
    if (id !== functionId) {
      if (!o.otherInvoker) return { status: 404, body: Buffer.from('{}') };
      return o.otherInvoker(id, body, headers);
    }
    const r = await handleAlarm(deps, body.toString('utf8'), {
      token: `local-${++calls}`,
      // A 30 s invocation budget, in emulated time.
      remainingMs: 30_000 * dilation,
    });
    results.push(r);
    return { status: 200, body: Buffer.from(JSON.stringify(r)) };
  });

  const demand = startDemand({
    monitoring: o.monitoring,
    genai: o.genai,
    profile: o.profile,
    clusterIds: [o.clusterId],
    compartmentId: emu.compartmentId,
  });
  const passes: UtilizationSummary[] = [];
  const utilDeps = {
    monitoring,
    genai,
    compartmentId: emu.compartmentId,
    now: () => new Date(),
    log,
  };
  const stopUtilization = o.monitoring.control.onMinute(async () => {
    passes.push(
      // No metricMinuteMs: read from the window spacing, as poll-status does in the local stack.
      await publishDerivedUtilization(utilDeps, [o.workflow]),
    );
  });

  return {
    alarmsTopicId,
    notifyTopicId,
    alarmIds,
    demand,
    results: () => [...results],
    utilization: () => [...passes],
    emulatedNow,
    async stop() {
      demand.stop();
      stopUtilization();
      for (const id of Object.values(alarmIds)) {
        await monitoring.deleteAlarm({ alarmId: id }).catch(() => undefined);
      }
    },
  };
}
