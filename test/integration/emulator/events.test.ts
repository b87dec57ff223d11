import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudEvent } from '#local/emulator/service.ts';
import type { Emulator } from '#local/emulator/index.ts';
import { clients, eventually, startTest } from './helpers.ts';

interface Call {
  functionId: string;
  event: CloudEvent;
}

describe('Events rules through the real SDK', () => {
  let emu: Emulator;
  let cleanup: () => Promise<void>;
  let c: ReturnType<typeof clients>;
  const calls: Call[] = [];
  let gate: Promise<void> = Promise.resolve();
  const fnValidate = 'ocid1.fnfunc.oc1.us-chicago-1.validate';
  const fnDeleted = 'ocid1.fnfunc.oc1.us-chicago-1.deleted';

  const callsFor = (fn: string, name: string) =>
    calls.filter((x) => x.functionId === fn && x.event.data.resourceName === name);

  beforeAll(async () => {
    ({ emu, cleanup } = await startTest({
      autoConfirmEmail: true,
      invokeFunction: async (functionId, body) => {
        await gate;
        calls.push({ functionId, event: JSON.parse(body.toString('utf8')) as CloudEvent });
        return { status: 200, body: Buffer.from('{}') };
      },
    }));
    c = clients(emu);
    const ns = emu.namespace;
    await c.os.createBucket({
      namespaceName: ns,
      createBucketDetails: {
        name: 'with-events',
        compartmentId: emu.compartmentId,
        objectEventsEnabled: true,
      },
    });
    await c.os.createBucket({
      namespaceName: ns,
      createBucketDetails: { name: 'no-events', compartmentId: emu.compartmentId },
    });
    await c.ev.createRule({
      createRuleDetails: {
        displayName: 'datasets',
        compartmentId: emu.compartmentId,
        isEnabled: true,
        condition: JSON.stringify({
          eventType: [
            'com.oraclecloud.objectstorage.createobject',
            'com.oraclecloud.objectstorage.updateobject',
          ],
          data: {
            additionalDetails: { bucketName: ['with-events', 'no-events'] },
            resourceName: 'in/*.jsonl',
          },
        }),
        actions: {
          actions: [{ actionType: 'FAAS', isEnabled: true, functionId: fnValidate } as never],
        },
      },
    });
    await c.ev.createRule({
      createRuleDetails: {
        displayName: 'deletes',
        compartmentId: emu.compartmentId,
        isEnabled: true,
        condition: JSON.stringify({ eventType: 'com.oraclecloud.objectstorage.deleteobject' }),
        actions: {
          actions: [{ actionType: 'FAAS', isEnabled: true, functionId: fnDeleted } as never],
        },
      },
    });
  });
  afterAll(async () => cleanup());

  const put = (bucketName: string, objectName: string, body = 'x') =>
    c.os.putObject({ namespaceName: emu.namespace, bucketName, objectName, putObjectBody: body });

  it('fires a CloudEvents 0.1 createobject envelope on upload to an events-enabled bucket', async () => {
    const res = await put('with-events', 'in/a b.jsonl');
    const [call] = await eventually(() =>
      callsFor(fnValidate, 'in/a b.jsonl').length
        ? callsFor(fnValidate, 'in/a b.jsonl')
        : undefined,
    );
    const e = call!.event;
    expect(e).toMatchObject({
      cloudEventsVersion: '0.1',
      eventType: 'com.oraclecloud.objectstorage.createobject',
      source: 'objectstorage',
      eventTypeVersion: '2.0',
      contentType: 'application/json',
      extensions: { compartmentId: emu.compartmentId },
      data: {
        compartmentId: emu.compartmentId,
        resourceName: 'in/a b.jsonl',
        resourceId: `/n/${emu.namespace}/b/with-events/o/in/a b.jsonl`,
        additionalDetails: {
          eTag: res.eTag,
          namespace: emu.namespace,
          bucketName: 'with-events',
          archivalState: 'Available',
        },
      },
    });
    expect(e.eventID).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(e.eventTime).toISOString()).toBe(e.eventTime);
    expect((e.data.additionalDetails as { bucketId: string }).bucketId).toMatch(/^ocid1\.bucket\./);
  });

  it('fires updateobject on overwrite and deleteobject on delete', async () => {
    await put('with-events', 'in/u.jsonl', '1');
    await put('with-events', 'in/u.jsonl', '2');
    await c.os.deleteObject({
      namespaceName: emu.namespace,
      bucketName: 'with-events',
      objectName: 'in/u.jsonl',
    });
    await eventually(() => (callsFor(fnDeleted, 'in/u.jsonl').length === 1 ? true : undefined));
    await eventually(() => (callsFor(fnValidate, 'in/u.jsonl').length === 2 ? true : undefined));
    expect(callsFor(fnValidate, 'in/u.jsonl').map((x) => x.event.eventType)).toEqual([
      'com.oraclecloud.objectstorage.createobject',
      'com.oraclecloud.objectstorage.updateobject',
    ]);
  });

  it('does not fire for buckets without objectEventsEnabled or for names the condition excludes', async () => {
    await put('no-events', 'in/quiet.jsonl');
    await put('with-events', 'in/not-a-dataset.csv');
    await put('with-events', 'other/x.jsonl');
    // Deliveries run in order, so once this later event has arrived the earlier ones were decided.
    await put('with-events', 'in/barrier.jsonl');
    await eventually(() => (callsFor(fnValidate, 'in/barrier.jsonl').length ? true : undefined));
    expect(callsFor(fnValidate, 'in/quiet.jsonl')).toHaveLength(0);
    expect(callsFor(fnValidate, 'in/not-a-dataset.csv')).toHaveLength(0);
    expect(callsFor(fnValidate, 'other/x.jsonl')).toHaveLength(0);
  });

  it('answers the PUT before the function has run', async () => {
    let release!: () => void;
    gate = new Promise((r) => (release = r));
    try {
      await put('with-events', 'in/slow.jsonl');
      expect(callsFor(fnValidate, 'in/slow.jsonl')).toHaveLength(0);
    } finally {
      release();
      gate = Promise.resolve();
    }
    await eventually(() => (callsFor(fnValidate, 'in/slow.jsonl').length ? true : undefined));
  });

  it('stops firing when the rule is disabled, and supports get/list/update/delete', async () => {
    const list = await c.ev.listRules({ compartmentId: emu.compartmentId });
    const rule = list.items.find((r) => r.displayName === 'datasets')!;
    const got = await c.ev.getRule({ ruleId: rule.id });
    expect(got.rule.actions.actions[0]).toMatchObject({
      actionType: 'FAAS',
      functionId: fnValidate,
      lifecycleState: 'ACTIVE',
    });
    await c.ev.updateRule({ ruleId: rule.id, updateRuleDetails: { isEnabled: false } });
    await put('with-events', 'in/disabled.jsonl');
    await put('with-events', 'in/del-barrier.jsonl');
    await c.os.deleteObject({
      namespaceName: emu.namespace,
      bucketName: 'with-events',
      objectName: 'in/del-barrier.jsonl',
    });
    await eventually(() => (callsFor(fnDeleted, 'in/del-barrier.jsonl').length ? true : undefined));
    expect(callsFor(fnValidate, 'in/disabled.jsonl')).toHaveLength(0);
    await c.ev.deleteRule({ ruleId: rule.id });
    await expect(c.ev.getRule({ ruleId: rule.id })).rejects.toMatchObject({ statusCode: 404 });
  });

  it('rejects an invalid condition with 400 InvalidParameter', async () => {
    await expect(
      c.ev.createRule({
        createRuleDetails: {
          displayName: 'bad',
          compartmentId: emu.compartmentId,
          isEnabled: true,
          condition: '{"eventType": [}',
          actions: {
            actions: [{ actionType: 'FAAS', isEnabled: true, functionId: fnValidate } as never],
          },
        },
      }),
    ).rejects.toMatchObject({ statusCode: 400, serviceCode: 'InvalidParameter' });
  });

  it('delivers to an ONS action, and duplicates or drops deliveries when faults say so', async () => {
    const topic = await c.onsCp.createTopic({
      createTopicDetails: { name: 'events-topic', compartmentId: emu.compartmentId },
    });
    const topicId = topic.notificationTopic.topicId;
    await c.onsDp.createSubscription({
      createSubscriptionDetails: {
        topicId,
        compartmentId: emu.compartmentId,
        protocol: 'EMAIL',
        endpoint: 'ops@example.com',
      },
    });
    const rule = await c.ev.createRule({
      createRuleDetails: {
        displayName: 'to-topic',
        compartmentId: emu.compartmentId,
        isEnabled: true,
        condition: JSON.stringify({ data: { resourceName: 'ons/*' } }),
        actions: { actions: [{ actionType: 'ONS', isEnabled: true, topicId } as never] },
      },
    });
    await put('with-events', 'ons/one');
    const msgs = await eventually(() => {
      const m = emu.outbox(topicId).filter((x) => x.kind === 'message');
      return m.length ? m : undefined;
    });
    expect(JSON.parse(msgs[0]!.body)).toMatchObject({ data: { resourceName: 'ons/one' } });

    emu.setFaults({ rate: 0, duplicateEvents: 1 });
    await put('with-events', 'ons/twice');
    const twice = await eventually(() => {
      const m = emu.outbox(topicId).filter((x) => x.body.includes('ons/twice'));
      return m.length >= 2 ? m : undefined;
    });
    expect(JSON.parse(twice[0]!.body).eventID).toBe(JSON.parse(twice[1]!.body).eventID);

    emu.setFaults({ rate: 0, dropEvents: 1 });
    await put('with-events', 'ons/dropped');
    await eventually(() =>
      emu.eventDeliveries().find((d) => d.ruleId === rule.rule.id && d.outcome === 'dropped'),
    );
    expect(emu.outbox(topicId).filter((x) => x.body.includes('ons/dropped'))).toHaveLength(0);
    emu.setFaults(undefined);
  });
});
