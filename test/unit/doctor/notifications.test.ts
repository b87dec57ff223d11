import { describe, expect, it } from 'vitest';
import { checkSubscriptions, checkTopics } from '#shared/doctor/notifications.ts';
import type { DoctorTarget } from '#shared/doctor/types.ts';
import { functionNames } from '#shared/wiring.ts';
import { FakeOns, fnId, notOk, target, topicId } from './fakes.ts';

const withFns = (over: Partial<DoctorTarget> = {}) =>
  target({ functionIds: Object.fromEntries(functionNames.map((n) => [n, fnId(n)])), ...over });

async function run(ons: FakeOns, t = withFns()) {
  const topics = await checkTopics(t, ons);
  return [...topics.findings, ...(await checkSubscriptions(t, ons, topics.topics))];
}

describe('checkTopics and checkSubscriptions', () => {
  it('are ok for the five topics and the four function subscriptions', async () => {
    const findings = await run(new FakeOns());
    expect(notOk(findings)).toEqual([]);
    expect(findings.filter((f) => f.check === 'notifications.topic')).toHaveLength(5);
    expect(findings.filter((f) => f.check === 'notifications.subscription')).toHaveLength(4);
    expect(findings.at(-1)!.message).toContain('no EMAIL subscription');
  });

  it('finds topics by the Terraform name prefix', async () => {
    const ons = new FakeOns();
    ons.topics = ons.topics.map((t) => ({ ...t, name: t.name.replace('dacflow-', 'prod-') }));
    expect(notOk(await run(ons, withFns({ namePrefix: 'prod' })))).toEqual([]);
    const wrongPrefix = notOk(await run(ons));
    expect(wrongPrefix).toHaveLength(5);
    expect(wrongPrefix[0]!.message).toContain('no Notifications topic dacflow-pipeline');
    expect(wrongPrefix[0]!.fix).toContain('oci_ons_notification_topic.pipeline');
  });

  it('fails a function subscription that is PENDING, with "confirm it"', async () => {
    const ons = new FakeOns();
    ons.subs[0] = { ...ons.subs[0]!, lifecycleState: 'PENDING' };
    const bad = notOk(await run(ons));
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ check: 'notifications.subscription', status: 'fail' });
    expect(bad[0]!.message).toContain(
      `ORACLE_FUNCTIONS subscription of scale-dac (${fnId('scale-dac')}) on topic dacflow-alarms`,
    );
    expect(bad[0]!.message).toContain('is PENDING');
    expect(bad[0]!.fix).toMatch(/^confirm it/);
  });

  it('fails a missing subscription, and one that targets another function', async () => {
    const ons = new FakeOns();
    ons.subs = ons.subs.filter((s) => s.topicId !== topicId('start-finetune'));
    ons.subs = ons.subs.map((s) =>
      s.topicId === topicId('deploy-endpoint') ? { ...s, endpoint: fnId('old') } : s,
    );
    const bad = notOk(await run(ons));
    expect(bad.map((f) => f.message)).toEqual([
      expect.stringContaining('no ORACLE_FUNCTIONS subscription of start-finetune'),
      expect.stringContaining(`its function subscriptions target ${fnId('old')}`),
    ]);
    expect(bad[0]!.fix).toContain('oci_ons_subscription.work["start-finetune"]');
  });

  it('warns about a PENDING email on the pipeline topic, naming the address', async () => {
    const ons = new FakeOns();
    ons.subs.push({
      id: 'sub-mail',
      topicId: topicId('pipeline'),
      protocol: 'EMAIL',
      endpoint: 'ops@example.com',
      lifecycleState: 'PENDING',
    });
    const bad = notOk(await run(ons));
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ check: 'notifications.email', status: 'warn' });
    expect(bad[0]!.message).toContain('ops@example.com (sub-mail)');
    expect(bad[0]!.fix).toContain('confirmation link');
  });

  it('fails when the functions are configured with a topic id that does not exist', async () => {
    const bad = notOk(
      await run(new FakeOns(), withFns({ topicIds: { pipeline: 'ocid1.onstopic.oc1..gone' } })),
    );
    expect(bad).toHaveLength(1);
    expect(bad[0]!.message).toContain(
      'configured with topic ocid1.onstopic.oc1..gone for pipeline',
    );
    expect(bad[0]!.fix).toContain(`DACFLOW_PIPELINE_TOPIC_ID = ${topicId('pipeline')}`);
  });

  it('skips the subscriptions of a missing topic (the topic finding says it)', async () => {
    const ons = new FakeOns();
    ons.topics = ons.topics.filter((t) => t.name !== 'dacflow-alarms');
    const bad = notOk(await run(ons));
    expect(bad.map((f) => f.check)).toEqual(['notifications.topic']);
  });
});
