/** Small in-memory fakes of the doctor's ports, and a target to check against. */
import { ServiceCallError } from '#shared/doctor/errors.ts';
import type {
  AlarmView,
  BucketView,
  ClusterView,
  GenAiPort,
  MonitoringPort,
  NotificationsPort,
  RuleView,
  StoragePort,
  SubscriptionView,
  TopicView,
} from '#shared/doctor/ports.ts';
import type { DoctorTarget, Finding } from '#shared/doctor/types.ts';
import { formatAlarmBody } from '#shared/scaling/alarm.ts';
import { defaultScalingPolicy, type ScalingPolicy } from '#shared/scaling/policy.ts';
import { alarmRulesFor } from '#shared/scaling/simulate.ts';
import {
  dataScienceEventsRule,
  datasetCondition,
  topicKeys,
  wiringFor,
  type TopicKey,
} from '#shared/wiring.ts';
import { parseWorkflows, type Workflow } from '#workflows/schema.ts';

export const COMPARTMENT = 'ocid1.compartment.oc1..doctor';
export const BUCKET = 'dacflow-datasets';
export const CLUSTER = 'ocid1.generativeaidedicatedaicluster.oc1.us-chicago-1.hostinga';
export const fnId = (name: string) => `ocid1.fnfunc.oc1..${name}`;
export const topicId = (key: TopicKey) => `ocid1.onstopic.oc1..${key}`;
export const trigger = { name: 'support-bot', bucket: BUCKET, prefix: 'datasets/support-bot/' };

export function workflow(hostingClusters = ['hosting-a'], autoscaling = true): Workflow {
  const text = `name: support-bot
backend: genai
trigger: { bucket: ${BUCKET}, prefix: datasets/support-bot/ }
genai:
  baseModel: meta.llama-3.3-70b-instruct
  trainingConfig: { trainingConfigType: LORA_TRAINING_CONFIG }
  fineTuningCluster: ft-a
  hostingClusters: [${hostingClusters.join(', ')}]
  endpoint: { contentModeration: { isEnabled: false } }
${autoscaling ? 'autoscaling: { minUnits: 1, maxUnits: 4 }\n' : ''}`;
  return parseWorkflows([{ fileName: 'wf.yaml', text }])[0]!;
}

/** A datascience workflow; `autoscaling` is the YAML of its autoscaling section, or null for none. */
export function dsWorkflow(
  name = 'aqua-llama',
  autoscaling: string | null = '{ minUnits: 1, maxUnits: 4 }',
): Workflow {
  const text = `name: ${name}
backend: datascience
trigger: { bucket: ${BUCKET}, prefix: datasets/${name}/ }
dataset: { format: aqua }
datascience:
  projectId: ocid1.datascienceproject.oc1.eu-frankfurt-1.amaaaaaaaqualamaproject
  baseModel: Meta-Llama-3.1-8B-Instruct
  shape: VM.GPU.A10.2
  training: { epochs: 1 }
  outputBucket: dacflow-aqua-models
  deployment: { shape: VM.GPU.A10.1, instanceCount: 1 }
${autoscaling ? `autoscaling: ${autoscaling}\n` : ''}`;
  return parseWorkflows([{ fileName: `${name}.yaml`, text }])[0]!;
}

export const policy: ScalingPolicy = { ...defaultScalingPolicy, minUnits: 1, maxUnits: 4 };

export function target(over: Partial<DoctorTarget> = {}): DoctorTarget {
  return {
    mode: 'tenancy',
    compartmentId: COMPARTMENT,
    namespace: 'ns',
    stateBucket: BUCKET,
    namePrefix: 'dacflow',
    triggers: [trigger],
    workflows: [],
    ...over,
  };
}

export const notOk = (fs: Finding[]) => fs.filter((f) => f.status !== 'ok');

export const unreachable = (service: 'monitoring' | 'generativeai', op: string) =>
  new ServiceCallError(service, op, {
    status: 404,
    serviceCode: 'NotFound',
    message: 'no operation',
    unreachable: true,
  });
export const forbidden = (
  service: 'objectstorage' | 'events' | 'notifications' | 'monitoring',
  op: string,
) =>
  new ServiceCallError(service, op, {
    status: 404,
    serviceCode: 'NotAuthorizedOrNotFound',
    message: 'Authorization failed or requested resource not found',
    unreachable: false,
  });

export class FakeStorage implements StoragePort {
  buckets = new Map<string, BucketView>([
    [BUCKET, { name: BUCKET, objectEventsEnabled: true, versioning: 'Enabled' }],
  ]);
  objects = new Map<string, string>();
  calls: string[] = [];
  putError: Error | undefined;
  deleteError: Error | undefined;
  async getBucket(b: string) {
    return this.buckets.get(b);
  }
  async createObjectIfAbsent(b: string, o: string, _body: string) {
    this.calls.push(`put ${b}/${o} if-none-match *`);
    if (this.putError) throw this.putError;
    if (this.objects.has(`${b}/${o}`)) return 'exists' as const;
    this.objects.set(`${b}/${o}`, 'etag-1');
    return 'etag-1';
  }
  async deleteObject(b: string, o: string, ifMatch: string) {
    this.calls.push(`delete ${b}/${o} if-match ${ifMatch}`);
    if (this.deleteError) throw this.deleteError;
    if (this.objects.get(`${b}/${o}`) === ifMatch) this.objects.delete(`${b}/${o}`);
  }
}

export function goodRule(): RuleView {
  const r = wiringFor([trigger]).rules[0]!;
  return {
    id: 'ocid1.eventrule.oc1..r1',
    displayName: r.name,
    condition: JSON.stringify(datasetCondition(trigger)),
    isEnabled: true,
    lifecycleState: 'ACTIVE',
    actions: [{ actionType: 'FAAS', functionId: fnId('validate-dataset'), isEnabled: true }],
  };
}

/** The trigger of a datascience workflow (`dsWorkflow`). */
export const dsTrigger = {
  name: 'aqua-llama',
  bucket: BUCKET,
  prefix: 'datasets/aqua-llama/',
  backend: 'datascience',
};

/** The Data Science events rule as the local stack and terraform/events.tf create it. */
export function goodDsRule(): RuleView {
  return {
    id: 'ocid1.eventrule.oc1..ds',
    displayName: dataScienceEventsRule.name,
    condition: JSON.stringify(dataScienceEventsRule.condition),
    isEnabled: true,
    lifecycleState: 'ACTIVE',
    actions: [{ actionType: 'FAAS', functionId: fnId('poll-status'), isEnabled: true }],
  };
}

export class FakeOns implements NotificationsPort {
  topics: TopicView[] = topicKeys.map((k) => ({
    id: topicId(k),
    name: `dacflow-${k}`,
    lifecycleState: 'ACTIVE',
  }));
  subs: SubscriptionView[] = wiringFor([]).subscriptions.map((s, i) => ({
    id: `ocid1.onssubscription.oc1..s${i}`,
    topicId: topicId(s.topic),
    protocol: s.protocol,
    endpoint: fnId(s.function),
    lifecycleState: 'ACTIVE',
  }));
  async listTopics() {
    return this.topics;
  }
  async listSubscriptions(_c: string, t: string) {
    return this.subs.filter((s) => s.topicId === t);
  }
}

export function goodAlarms(clusterId = CLUSTER): AlarmView[] {
  return alarmRulesFor(policy).map((spec) => {
    const latency = spec.metric === 'p99LatencyMs';
    return {
      id: `ocid1.alarm.oc1..${spec.rule}`,
      displayName: `dacflow-managed-${spec.rule}`,
      query: `${latency ? 'InvocationLatency' : 'DerivedUtilization'}[${spec.intervalMin}m]{resourceId = "${clusterId}"}.${latency ? 'percentile(0.99)' : 'mean()'} ${spec.comparison === 'above' ? '>' : '<'} ${spec.threshold}`,
      lifecycleState: 'ACTIVE',
      namespace: latency ? 'oci_generativeai' : 'dacflow_autoscaling',
      isEnabled: true,
      destinations: [topicId('alarms')],
      body: formatAlarmBody(clusterId, spec.rule),
      pendingDuration: `PT${spec.pendingMin}M`,
      repeatNotificationDuration: `PT${spec.repeatMin}M`,
      ruleName: spec.rule,
    };
  });
}

/**
 * A workflow's model-deployment alarms as terraform/datascience.tf creates them (written out here,
 * not taken from deploymentAlarmDefinitions, so the doctor is held to an independent statement).
 */
export function goodDeploymentAlarms(
  workflowName = 'aqua-llama',
  p: ScalingPolicy = policy,
  utilizationMetric = 'GPUCoreUtilization',
): AlarmView[] {
  return alarmRulesFor(p).map((spec) => {
    const latency = spec.metric === 'p99LatencyMs';
    return {
      id: `ocid1.alarm.oc1..${workflowName}-${spec.rule}`,
      displayName: `dacflow-${workflowName}-deployments-${spec.rule}`,
      query: `${latency ? 'PredictLatency' : utilizationMetric}[${spec.intervalMin}m].groupBy(resourceId).${latency ? 'percentile(0.99)' : 'mean()'} ${spec.comparison === 'above' ? '>' : '<'} ${spec.threshold}`,
      lifecycleState: 'ACTIVE',
      namespace: 'oci_datascience_modeldeploy',
      isEnabled: true,
      isNotificationsPerMetricDimensionEnabled: true,
      destinations: [topicId('alarms')],
      // Terraform's jsonencode() sorts the keys.
      body: `{"dacflow":{"rule":"${spec.rule}","workflow":"${workflowName}"}}`,
      pendingDuration: `PT${spec.pendingMin}M`,
      repeatNotificationDuration: `PT${spec.repeatMin}M`,
      ruleName: spec.rule,
    };
  });
}

export class FakeMonitoring implements MonitoringPort {
  alarms = goodAlarms();
  listError: Error | undefined;
  gets: string[] = [];
  async listAlarms() {
    if (this.listError) throw this.listError;
    return this.alarms.map(({ id, displayName, namespace, query, lifecycleState }) => ({
      id,
      displayName,
      namespace,
      query,
      lifecycleState,
    }));
  }
  async getAlarm(id: string) {
    this.gets.push(id);
    const a = this.alarms.find((x) => x.id === id);
    if (!a) throw new Error(`no alarm ${id}`);
    return a;
  }
}

export class FakeGenAi implements GenAiPort {
  clusters: ClusterView[] = [
    { id: CLUSTER, displayName: 'hosting-a', type: 'HOSTING', lifecycleState: 'ACTIVE' },
  ];
  error: Error | undefined;
  async getCluster(id: string) {
    if (this.error) throw this.error;
    return this.clusters.find((c) => c.id === id);
  }
  async findClusters(_c: string, name: string) {
    if (this.error) throw this.error;
    return this.clusters.filter((c) => c.displayName === name);
  }
}

export const alarmsTopic: TopicView = {
  id: topicId('alarms'),
  name: 'dacflow-alarms',
  lifecycleState: 'ACTIVE',
};
