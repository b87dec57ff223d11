/**
 * The Notifications topics (`topicKeys`) and the function subscriptions of `wiringFor()`. A PENDING
 * subscription delivers nothing until it is confirmed, so a PENDING function subscription is a
 * failure and a PENDING email on the pipeline topic a warning (only people miss messages).
 */
import { topicKeys, wiringFor, type TopicKey } from '#shared/wiring.ts';
import { describeCallError } from './errors.ts';
import type { NotificationsPort, SubscriptionView, TopicView } from './ports.ts';
import {
  CheckId,
  fail,
  ok,
  redeployFix,
  TargetMode,
  warn,
  type DoctorTarget,
  type Finding,
} from './types.ts';

/** The display name of a dacflow topic: `<name_prefix>-<key>` (terraform/notifications.tf). */
export function topicDisplayName(namePrefix: string, key: TopicKey): string {
  return `${namePrefix}-${key}`;
}

/** The configuration variable that carries a topic's OCID to the functions, when there is one. */
const topicVariable: Partial<Record<TopicKey, string>> = {
  pipeline: 'DACFLOW_PIPELINE_TOPIC_ID',
  'validate-dataset': 'DACFLOW_VALIDATE_DATASET_TOPIC_ID',
  'start-finetune': 'DACFLOW_START_FINETUNE_TOPIC_ID',
  'deploy-endpoint': 'DACFLOW_DEPLOY_ENDPOINT_TOPIC_ID',
};

function terraformTopic(key: TopicKey): string {
  return key === 'pipeline' || key === 'alarms'
    ? `oci_ons_notification_topic.${key}`
    : `oci_ons_notification_topic.work["${key}"]`;
}

function terraformSubscription(key: TopicKey): string {
  return key === 'alarms'
    ? 'oci_ons_subscription.alarms_scale_dac'
    : `oci_ons_subscription.work["${key}"]`;
}

const confirmFix = (s: SubscriptionView) =>
  `confirm it: open the confirmation link Notifications sent to ${s.endpoint} (resend it from the Console or with ResendSubscriptionConfirmation for subscription ${s.id}), or delete the subscription and create it again`;

/** The topics found, by key; also returned so the alarm check can compare destinations. */
export interface TopicResult {
  findings: Finding[];
  topics: Partial<Record<TopicKey, TopicView>>;
}

export async function checkTopics(
  target: DoctorTarget,
  ons: NotificationsPort,
): Promise<TopicResult> {
  let all: TopicView[];
  try {
    all = await ons.listTopics(target.compartmentId);
  } catch (err) {
    return {
      findings: [
        fail(
          CheckId.TOPIC,
          `cannot list Notifications topics in compartment ${target.compartmentId}: ${describeCallError(err)}`,
          `check that the OCI user may \`read ons-topics\` in compartment ${target.compartmentId}`,
        ),
      ],
      topics: {},
    };
  }
  const findings: Finding[] = [];
  const topics: Partial<Record<TopicKey, TopicView>> = {};
  for (const key of topicKeys) {
    const name = topicDisplayName(target.namePrefix, key);
    const configuredId = target.topicIds?.[key];
    const byName = all.find((t) => t.name === name);
    const byId = configuredId === undefined ? undefined : all.find((t) => t.id === configuredId);
    const topic = configuredId === undefined ? byName : byId;
    const recreate = redeployFix(
      target,
      target.mode === TargetMode.LOCAL ? `topic ${name}` : `topic ${name} (${terraformTopic(key)})`,
    );
    if (!topic) {
      const variable = topicVariable[key];
      findings.push(
        fail(
          CheckId.TOPIC,
          configuredId !== undefined && byName
            ? `the functions are configured with topic ${configuredId} for ${key}${variable ? ` (${variable})` : ''}, which does not exist; topic ${name} is ${byName.id}`
            : configuredId !== undefined
              ? `topic ${configuredId} (${key}${variable ? `, ${variable}` : ''}) does not exist in compartment ${target.compartmentId}`
              : `no Notifications topic ${name} in compartment ${target.compartmentId}`,
          configuredId !== undefined && byName && variable
            ? `set ${variable} = ${byName.id} in the functions' configuration (${target.mode === TargetMode.LOCAL ? redeployFix(target, 'the configuration') : '`terraform apply` sets it'})`
            : recreate,
        ),
      );
      continue;
    }
    topics[key] = topic;
    if (topic.lifecycleState !== 'ACTIVE') {
      findings.push(
        (topic.lifecycleState === 'CREATING' ? warn : fail)(
          CheckId.TOPIC,
          `topic ${topic.name} (${topic.id}) is ${topic.lifecycleState}, expected ACTIVE`,
          topic.lifecycleState === 'CREATING' ? 'wait a minute and run doctor again' : recreate,
        ),
      );
    } else {
      findings.push(ok(CheckId.TOPIC, `topic ${topic.name} (${topic.id}) is ACTIVE`));
    }
  }
  return { findings, topics };
}

export async function checkSubscriptions(
  target: DoctorTarget,
  ons: NotificationsPort,
  topics: Partial<Record<TopicKey, TopicView>>,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const subsOf = async (topic: TopicView): Promise<SubscriptionView[] | Finding> => {
    try {
      return (await ons.listSubscriptions(target.compartmentId, topic.id)).filter(
        (s) => s.lifecycleState !== 'DELETED',
      );
    } catch (err) {
      return fail(
        CheckId.SUBSCRIPTION,
        `cannot list the subscriptions of topic ${topic.name} (${topic.id}): ${describeCallError(err)}`,
        `check that the OCI user may \`read ons-subscriptions\` in compartment ${target.compartmentId}`,
      );
    }
  };

  for (const want of wiringFor([]).subscriptions) {
    const topic = topics[want.topic];
    if (!topic) continue; // the topic finding already says it is missing
    const subs = await subsOf(topic);
    if (!Array.isArray(subs)) {
      findings.push(subs);
      continue;
    }
    const fnId = target.functionIds?.[want.function];
    const fnSubs = subs.filter((s) => s.protocol === want.protocol);
    const matching = fnId === undefined ? fnSubs : fnSubs.filter((s) => s.endpoint === fnId);
    const what = `${want.protocol} subscription of ${want.function}${fnId ? ` (${fnId})` : ''} on topic ${topic.name}`;
    if (matching.length === 0) {
      findings.push(
        fail(
          CheckId.SUBSCRIPTION,
          fnSubs.length > 0
            ? `no ${what}: its function subscriptions target ${fnSubs.map((s) => s.endpoint).join(', ')}`
            : `no ${what}: messages on ${topic.name} reach no function`,
          redeployFix(
            target,
            target.mode === TargetMode.LOCAL
              ? `the subscription`
              : `the subscription (${terraformSubscription(want.topic)})`,
          ),
        ),
      );
      continue;
    }
    for (const s of matching) {
      if (s.lifecycleState === 'ACTIVE') {
        findings.push(ok(CheckId.SUBSCRIPTION, `${what} (${s.id}) is ACTIVE`));
      } else {
        findings.push(
          fail(
            CheckId.SUBSCRIPTION,
            `${what} (${s.id}) is ${s.lifecycleState}, expected ACTIVE: nothing is delivered until it is confirmed`,
            confirmFix(s),
          ),
        );
      }
    }
  }

  const pipeline = topics.pipeline;
  if (pipeline) {
    const subs = await subsOf(pipeline);
    if (!Array.isArray(subs)) findings.push(subs);
    else {
      const emails = subs.filter((s) => s.protocol === 'EMAIL');
      for (const s of emails.filter((e) => e.lifecycleState !== 'ACTIVE')) {
        findings.push(
          warn(
            CheckId.EMAIL,
            `EMAIL subscription ${s.endpoint} (${s.id}) on topic ${pipeline.name} is ${s.lifecycleState}: ${s.endpoint} gets no pipeline notifications`,
            confirmFix(s),
          ),
        );
      }
      const active = emails.filter((e) => e.lifecycleState === 'ACTIVE');
      if (active.length > 0 || emails.length === 0) {
        findings.push(
          ok(
            CheckId.EMAIL,
            emails.length === 0
              ? `topic ${pipeline.name} has no EMAIL subscription (pipeline_emails is empty): notifications are published but nobody is mailed`
              : `EMAIL subscription${active.length > 1 ? 's' : ''} ${active.map((e) => e.endpoint).join(', ')} on topic ${pipeline.name} confirmed`,
          ),
        );
      }
    }
  }
  return findings;
}
