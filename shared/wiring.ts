/**
 * The one wiring definition: which OCI Events rules, Notifications subscriptions and schedules
 * connect the functions. The local stack creates exactly these through the SDK, and the Terraform
 * checks hold `terraform/` against them. Pure data: no I/O.
 */

/** Every function dacflow deploys, one folder each under `functions/`. */
export const functionNames = [
  'validate-dataset',
  'start-finetune',
  'poll-status',
  'deploy-endpoint',
  'scale-dac',
] as const;
export type FunctionName = (typeof functionNames)[number];

/** dacflow's own object prefixes in the datasets bucket. No Events rule may match them. */
export const reservedPrefixes = Object.freeze({
  reports: 'dacflow/reports/',
  state: 'dacflow/state/',
});

/** Only objects with this suffix are datasets. */
export const datasetSuffix = '.jsonl';

export const objectEventTypes = [
  'com.oraclecloud.objectstorage.createobject',
  'com.oraclecloud.objectstorage.updateobject',
] as const;

/**
 * The Data Science events that make poll-status look at a run at once, instead of at its next
 * poll (data-science/using/create-auto-events.htm). Whether `createjobrun.end` marks the job
 * run's acceptance or its end is NOT VERIFIED, and it does not matter: an event only prompts an
 * observation through the API, and the scheduled reconcile still guarantees progress.
 */
export const dataScienceEventTypes = [
  'com.oraclecloud.datascience.createjobrun.end',
  'com.oraclecloud.datascience.canceljobrun.end',
  'com.oraclecloud.datascience.updatejobrun',
  'com.oraclecloud.datascience.createmodeldeployment.end',
] as const;

/** The part of a workflow the wiring needs. */
export interface WorkflowTrigger {
  name: string;
  bucket: string;
  /** Object name prefix, e.g. `datasets/support-bot/`. */
  prefix: string;
  /** `datascience` workflows also get the Data Science events rule. */
  backend?: string;
}

/** A dataset rule's OCI Events condition (filterevents.htm): omitted fields match anything. */
export interface DatasetCondition {
  eventType: string[];
  data: { additionalDetails: { bucketName: string }; resourceName: string };
}

/** The Data Science rule's condition: the event types alone (a rule sees its compartment). */
export interface DataScienceCondition {
  eventType: string[];
}

export type EventCondition = DatasetCondition | DataScienceCondition;

export interface EventRuleWiring {
  /** Display name of the rule. */
  name: string;
  condition: EventCondition;
  function: FunctionName;
}

/**
 * dacflow's Notifications topics. `pipeline` carries human notifications (email). `alarms` receives
 * Monitoring alarms. `validate-dataset`, `start-finetune` and `deploy-endpoint` are internal work
 * topics: the fast path from one step to the next, delivered at least once with ONS's retries, and
 * the way the scheduled reconciler re-drives a step whose trigger was lost.
 */
export const topicKeys = [
  'pipeline',
  'alarms',
  'validate-dataset',
  'start-finetune',
  'deploy-endpoint',
] as const;
export type TopicKey = (typeof topicKeys)[number];

export interface SubscriptionWiring {
  topic: TopicKey;
  protocol: 'ORACLE_FUNCTIONS';
  function: FunctionName;
}

export interface ScheduleWiring {
  function: FunctionName;
  /** Cron expression (five fields, UTC). */
  cron: string;
}

export interface Wiring {
  rules: EventRuleWiring[];
  subscriptions: SubscriptionWiring[];
  schedules: ScheduleWiring[];
}

/** The default reconcile schedule: every minute. */
export const defaultPollCron = '* * * * *';

/** The condition that matches exactly the objects validate-dataset accepts for one workflow. */
export function datasetCondition(trigger: WorkflowTrigger): DatasetCondition {
  return {
    eventType: [...objectEventTypes],
    data: {
      additionalDetails: { bucketName: trigger.bucket },
      resourceName: `${trigger.prefix}*${datasetSuffix}`,
    },
  };
}

/** The rule that sends job-run and model-deployment events to poll-status. */
export const dataScienceEventsRule: EventRuleWiring = Object.freeze({
  name: 'dacflow-datascience-events',
  condition: { eventType: [...dataScienceEventTypes] },
  function: 'poll-status',
});

export function wiringFor(
  triggers: readonly WorkflowTrigger[],
  pollCron = defaultPollCron,
): Wiring {
  const datasetRules: EventRuleWiring[] = triggers.map((t) => ({
    name: `dacflow-${t.name}-dataset`,
    condition: datasetCondition(t),
    function: 'validate-dataset',
  }));
  return {
    rules: triggers.some((t) => t.backend === 'datascience')
      ? [...datasetRules, dataScienceEventsRule]
      : datasetRules,
    subscriptions: [
      { topic: 'alarms', protocol: 'ORACLE_FUNCTIONS', function: 'scale-dac' },
      { topic: 'validate-dataset', protocol: 'ORACLE_FUNCTIONS', function: 'validate-dataset' },
      { topic: 'start-finetune', protocol: 'ORACLE_FUNCTIONS', function: 'start-finetune' },
      { topic: 'deploy-endpoint', protocol: 'ORACLE_FUNCTIONS', function: 'deploy-endpoint' },
    ],
    schedules: [{ function: 'poll-status', cron: pollCron }],
  };
}

/** True when `name` is a dataset of this workflow: under its prefix, not in a reserved prefix. */
export function isDatasetObject(
  trigger: Pick<WorkflowTrigger, 'bucket' | 'prefix'>,
  bucket: string,
  name: string,
): boolean {
  if (
    bucket !== trigger.bucket ||
    !name.startsWith(trigger.prefix) ||
    !name.endsWith(datasetSuffix)
  ) {
    return false;
  }
  return !Object.values(reservedPrefixes).some((p) => name.startsWith(p));
}
