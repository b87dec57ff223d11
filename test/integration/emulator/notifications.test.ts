import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '#local/emulator/index.ts';
import { maxMessageBytes } from '#local/emulator/notifications.ts';
import { clients, eventually, startTest } from './helpers.ts';

interface Delivery {
  functionId: string;
  body: string;
  headers: Record<string, string>;
}

describe('Notifications through the real SDK', () => {
  let emu: Emulator;
  let cleanup: () => Promise<void>;
  let c: ReturnType<typeof clients>;
  const received: Delivery[] = [];
  /** Statuses the test double returns, in order; 'throw' throws; 200 once exhausted. */
  let script: (number | 'throw')[] = [];
  let attempts = 0;
  const fnScale = 'ocid1.fnfunc.oc1.us-chicago-1.scale';

  beforeAll(async () => {
    ({ emu, cleanup } = await startTest({
      // 1 s first retry, shrunk 100x by fast mode: 10 ms, 20 ms, 40 ms ...
      deliveryRetryBaseMs: 1000,
      invokeFunction: async (functionId, body, headers) => {
        attempts++;
        const next = script.shift();
        if (next === 'throw') throw new Error('function crashed');
        const status = next ?? 200;
        if (status === 200) received.push({ functionId, body: body.toString('utf8'), headers });
        return { status, body: Buffer.from('{}') };
      },
    }));
    c = clients(emu);
  });
  afterAll(async () => cleanup());

  const newTopic = async (name: string) =>
    (await c.onsCp.createTopic({ createTopicDetails: { name, compartmentId: emu.compartmentId } }))
      .notificationTopic;

  it('manages topics', async () => {
    const t = await newTopic('managed');
    expect(t.lifecycleState).toBe('ACTIVE');
    expect((await c.onsCp.getTopic({ topicId: t.topicId })).notificationTopic.name).toBe('managed');
    const list = await c.onsCp.listTopics({ compartmentId: emu.compartmentId, name: 'managed' });
    expect(list.items.map((x) => x.topicId)).toEqual([t.topicId]);
    await expect(newTopic('managed')).rejects.toMatchObject({ statusCode: 409 });
    await c.onsCp.deleteTopic({ topicId: t.topicId });
    await expect(c.onsCp.getTopic({ topicId: t.topicId })).rejects.toMatchObject({
      statusCode: 404,
    });
  });

  it('delivers a published message to an ORACLE_FUNCTIONS subscription with the ONS headers', async () => {
    const t = await newTopic('alarms');
    const sub = await c.onsDp.createSubscription({
      createSubscriptionDetails: {
        topicId: t.topicId,
        compartmentId: emu.compartmentId,
        protocol: 'ORACLE_FUNCTIONS',
        endpoint: fnScale,
      },
    });
    expect(sub.subscription.lifecycleState).toBe('ACTIVE');
    const body = JSON.stringify({ type: 'OK_TO_FIRING', title: 'gpu high' });
    const pub = await c.onsDp.publishMessage({
      topicId: t.topicId,
      messageDetails: { title: 'alarm', body },
    });
    const d = await eventually(() =>
      received.find((r) => r.headers['X-OCI-NS-MessageId'] === pub.publishResult.messageId),
    );
    expect(d.functionId).toBe(fnScale);
    expect(d.body).toBe(body);
    expect(d.headers).toMatchObject({
      'X-OCI-NS-TopicOcid': t.topicId,
      'X-OCI-NS-TopicName': 'alarms',
      'X-OCI-NS-MessageType': 'JSON',
    });
  });

  it('retries a failed function delivery with backoff until it succeeds', async () => {
    const t = await newTopic('retried');
    await c.onsDp.createSubscription({
      createSubscriptionDetails: {
        topicId: t.topicId,
        compartmentId: emu.compartmentId,
        protocol: 'ORACLE_FUNCTIONS',
        endpoint: fnScale,
      },
    });
    script = [502, 'throw', 500];
    attempts = 0;
    const pub = await c.onsDp.publishMessage({
      topicId: t.topicId,
      messageDetails: { body: '{"n":1}' },
    });
    const id = pub.publishResult.messageId;
    await eventually(() => received.find((r) => r.headers['X-OCI-NS-MessageId'] === id));
    expect(attempts).toBe(4);
    const log = emu.functionDeliveries().filter((x) => x.messageId === id);
    expect(log.map((x) => [x.attempt, x.outcome])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'failed'],
      [4, 'delivered'],
    ]);
    expect(received.filter((r) => r.headers['X-OCI-NS-MessageId'] === id)).toHaveLength(1);
  });

  it('discards a message once the retry duration is used up', async () => {
    const t = await newTopic('expiring');
    const sub = await c.onsDp.createSubscription({
      createSubscriptionDetails: {
        topicId: t.topicId,
        compartmentId: emu.compartmentId,
        protocol: 'ORACLE_FUNCTIONS',
        endpoint: fnScale,
      },
    });
    // The shortest policy OCI allows: 1 minute, i.e. 600 ms in fast mode.
    await c.onsDp.updateSubscription({
      subscriptionId: sub.subscription.id,
      updateSubscriptionDetails: {
        deliveryPolicy: {
          backoffRetryPolicy: { maxRetryDuration: 60_000, policyType: 'EXPONENTIAL' as never },
        },
      },
    });
    script = Array<number>(50).fill(503);
    try {
      const pub = await c.onsDp.publishMessage({
        topicId: t.topicId,
        messageDetails: { body: '{}' },
      });
      const id = pub.publishResult.messageId;
      const expired = await eventually(() =>
        emu.functionDeliveries().find((x) => x.messageId === id && x.outcome === 'expired'),
      );
      const failed = emu
        .functionDeliveries()
        .filter((x) => x.messageId === id && x.outcome === 'failed');
      // Backoff 10, 20, 40, ... ms fits about six attempts into 600 ms.
      expect(failed.length).toBeGreaterThanOrEqual(2);
      expect(failed.length).toBeLessThanOrEqual(7);
      expect(expired.attempt).toBe(failed.length);
      expect(received.some((r) => r.headers['X-OCI-NS-MessageId'] === id)).toBe(false);
    } finally {
      script = [];
    }
  });

  it('keeps EMAIL subscriptions PENDING until confirmed, then delivers to the outbox', async () => {
    const t = await newTopic('email');
    const sub = (
      await c.onsDp.createSubscription({
        createSubscriptionDetails: {
          topicId: t.topicId,
          compartmentId: emu.compartmentId,
          protocol: 'EMAIL',
          endpoint: 'ops@example.com',
        },
      })
    ).subscription;
    expect(sub.lifecycleState).toBe('PENDING');
    const [confirmation] = emu.outbox(t.topicId);
    expect(confirmation?.kind).toBe('confirmation');
    await c.onsDp.publishMessage({
      topicId: t.topicId,
      messageDetails: { body: 'before confirm' },
    });
    const token = new URL(confirmation!.body).searchParams.get('token')!;
    await c.onsDp.getConfirmSubscription({ id: sub.id, token, protocol: 'EMAIL' });
    expect(
      (await c.onsDp.getSubscription({ subscriptionId: sub.id })).subscription.lifecycleState,
    ).toBe('ACTIVE');
    await c.onsDp.publishMessage({
      topicId: t.topicId,
      messageDetails: { title: 'hi', body: 'after confirm' },
    });
    const msgs = await eventually(() => {
      const m = emu.outbox(t.topicId).filter((x) => x.kind === 'message');
      return m.length ? m : undefined;
    });
    expect(msgs.map((m) => m.body)).toEqual(['after confirm']);
    const subs = await c.onsDp.listSubscriptions({
      compartmentId: emu.compartmentId,
      topicId: t.topicId,
    });
    expect(subs.items.map((s) => s.id)).toEqual([sub.id]);
  });

  it('accepts a 64 KB message and refuses a larger one with 413', async () => {
    const t = await newTopic('limits');
    await c.onsDp.publishMessage({
      topicId: t.topicId,
      messageDetails: { body: 'a'.repeat(maxMessageBytes) },
    });
    await expect(
      c.onsDp.publishMessage({
        topicId: t.topicId,
        messageDetails: { body: 'a'.repeat(maxMessageBytes + 1) },
      }),
    ).rejects.toMatchObject({ statusCode: 413, serviceCode: 'RequestEntityTooLarge' });
  });
});
