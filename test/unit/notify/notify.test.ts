import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { createLogger } from '#shared/log.ts';
import {
  buildMessage,
  clipBytes,
  runNotification,
  type RunNotification,
  type ScalingNotification,
} from '#shared/notify-body.ts';
import { Notifier, type NotifyPort } from '#shared/notify.ts';
import { createRun, type Run } from '#workflows/machine.ts';

const t0 = Date.parse('2026-11-21T10:00:00.000Z');
const secretLine = '{"prompt":"my secret prompt","completion":"classified answer"}';

function fakePort(fail?: { statusCode?: number; serviceCode?: string }) {
  const sent: { topicId: string; title: string | undefined; body: string }[] = [];
  const port: NotifyPort = {
    async publishMessage(req) {
      if (fail) throw Object.assign(new Error('publish failed'), fail);
      sent.push({
        topicId: req.topicId,
        title: req.messageDetails.title,
        body: req.messageDetails.body,
      });
      return { publishResult: { messageId: `m${sent.length}` } };
    },
  };
  return { port, sent };
}

function aRun(overrides: Partial<Run> = {}): Run {
  const run = createRun(
    {
      workflow: 'support-bot',
      backend: 'genai',
      retireSuperseded: true,
      dataset: { namespace: 'ns', bucket: 'datasets', object: 'support/v1.jsonl', etag: 'e-1' },
    },
    new Date(t0),
  ).run;
  return { ...run, version: 3, ...overrides };
}

const scaling: ScalingNotification = {
  kind: 'scaling',
  action: 'SCALE_UP',
  clusterId: 'ocid1.generativeaidedicatedaicluster.oc1.iad.abc',
  fromUnits: 2,
  toUnits: 3,
  reasonCode: 'latency-p99-high',
  monthlyCostChangeUsd: 1500,
  alarmIds: ['ocid1.alarm.oc1.iad.a1'],
  at: new Date(t0).toISOString(),
  dedupeKey: 'c:1',
};

describe('runNotification', () => {
  it('carries ids, counts, codes, states and the run age, but no error message text', () => {
    const run = aRun({
      state: 'INVALID',
      validation: { lines: 10, validExamples: 7, invalidLines: 3 },
      lastError: { code: 'DATASET_INVALID', message: secretLine },
      oci: { modelId: 'ocid1.generativeaimodel.oc1.iad.m1' },
      history: [
        {
          at: new Date(t0).toISOString(),
          from: 'RECEIVED',
          to: 'VALIDATING',
          observation: 'VALIDATION_STARTED',
          note: secretLine,
        },
      ],
    });
    const n = runNotification(run, 'DATASET_INVALID', { nowMs: t0 + 90_000, from: 'VALIDATING' });
    const { title, body } = buildMessage(n);
    const parsed = JSON.parse(body) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      kind: 'run',
      event: 'DATASET_INVALID',
      runId: run.runId,
      state: 'INVALID',
      from: 'VALIDATING',
      durationMs: 90_000,
      errorCode: 'DATASET_INVALID',
      counts: { lines: 10, validExamples: 7, invalidLines: 3 },
      ids: { modelId: 'ocid1.generativeaimodel.oc1.iad.m1' },
      transitions: ['RECEIVED>VALIDATING'],
      dedupeKey: `${run.runId}:DATASET_INVALID:3`,
    });
    expect(title).toBe(`dacflow support-bot: run ${run.runId} DATASET_INVALID`);
    expect(body).not.toContain('secret');
    expect(body).not.toContain('classified');
  });

  it('replaces an error code that is free text', () => {
    const n = runNotification(
      aRun({ lastError: { code: secretLine, message: '' } }),
      'TRAINING_FAILED',
      {
        nowMs: t0,
      },
    );
    const body = buildMessage(n).body;
    expect(JSON.parse(body).errorCode).toBe('UNRECOGNISED_CODE');
    expect(body).not.toContain('secret');
  });

  it("keeps OCI's CamelCase service codes", () => {
    const n = runNotification(
      aRun({ lastError: { code: 'NotAuthorizedOrNotFound', message: 'x' } }),
      'TRAINING_FAILED',
      { nowMs: t0 },
    );
    expect(JSON.parse(buildMessage(n).body).errorCode).toBe('NotAuthorizedOrNotFound');
  });
});

describe('buildMessage size limit', () => {
  it('shrinks long lists to fit, keeping the newest entries and counting the rest', () => {
    const n: RunNotification = {
      ...runNotification(aRun(), 'SERVING', { nowMs: t0 }),
      transitions: Array.from({ length: 5000 }, (_, i) => `S${i}>S${i + 1}`),
    };
    const msg = buildMessage(n, { maxMessageBytes: 4_000 });
    expect(msg.bytes).toBeLessThanOrEqual(4_000);
    expect(msg.truncated).toBe(true);
    const body = JSON.parse(msg.body) as {
      transitions: string[];
      omitted: { transitions: number };
    };
    expect(body.transitions.at(-1)).toBe('S4999>S5000');
    expect(body.transitions.length + body.omitted.transitions).toBe(5000);
  });

  it('measures UTF-8 bytes, not characters', () => {
    // Each '日' is 3 bytes: 1,000 of them are 1,000 characters but 3,000 bytes.
    const n = {
      ...scaling,
      alarmIds: Array.from({ length: 40 }, (_, i) => `${'日'.repeat(25)}${i}`),
    };
    const msg = buildMessage(n, { maxMessageBytes: 1_500 });
    expect(Buffer.byteLength(msg.title) + Buffer.byteLength(msg.body)).toBe(msg.bytes);
    expect(msg.bytes).toBeLessThanOrEqual(1_500);
    expect(msg.body.length).toBeLessThan(msg.bytes);
  });

  it('leaves a message that fits untouched', () => {
    const msg = buildMessage(scaling);
    expect(msg.truncated).toBe(false);
    expect(JSON.parse(msg.body)).toMatchObject({
      action: 'SCALE_UP',
      fromUnits: 2,
      toUnits: 3,
      monthlyCostChangeUsd: 1500,
    });
    // The title alone tells a person what happened and what it costs.
    expect(msg.title).toBe('dacflow: cluster SCALE_UP 2->3 units (+$1,500/month)');
  });

  fcTest.prop([
    fc.array(fc.string({ unit: 'binary', maxLength: 80 }), { maxLength: 400 }),
    fc.dictionary(fc.string({ maxLength: 40 }), fc.integer(), { maxKeys: 200 }),
    fc.integer({ min: 600, max: 70_000 }),
  ])('always fits the limit and stays valid JSON', (transitions, counts, maxMessageBytes) => {
    const n: RunNotification = {
      ...runNotification(aRun(), 'TRAINED', { nowMs: t0 }),
      transitions,
      counts,
    };
    const msg = buildMessage(n, { maxMessageBytes });
    expect(msg.bytes).toBeLessThanOrEqual(maxMessageBytes);
    expect(() => JSON.parse(msg.body)).not.toThrow();
  });

  it('clips on a character boundary and strips control characters', () => {
    expect(clipBytes('a\u0000b', 10)).toBe('a b');
    const clipped = clipBytes('🚀'.repeat(10), 11);
    expect(Buffer.byteLength(clipped)).toBeLessThanOrEqual(11);
    expect(clipped).toBe('🚀🚀...');
  });
});

describe('Notifier', () => {
  const settings = { topicId: 'ocid1.onstopic.oc1.iad.t1' };

  it('publishes title and body to the topic', async () => {
    const { port, sent } = fakePort();
    const out = await new Notifier(port).publish(scaling, settings);
    expect(out).toMatchObject({ sent: true, messageId: 'm1', truncated: false });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.topicId).toBe(settings.topicId);
    expect(sent[0]?.title).toBe('dacflow: cluster SCALE_UP 2->3 units (+$1,500/month)');
  });

  it('filters run events per workflow and honours enabled, scaling and topic settings', async () => {
    const { port, sent } = fakePort();
    const notifier = new Notifier(port);
    const serving = runNotification(aRun({ state: 'SERVING' }), 'SERVING', { nowMs: t0 });
    const failed = runNotification(aRun({ state: 'TRAINING_FAILED' }), 'TRAINING_FAILED', {
      nowMs: t0,
    });
    const only = { ...settings, events: ['TRAINING_FAILED'] };
    expect(await notifier.publish(serving, only)).toEqual({ sent: false, skipped: 'FILTERED' });
    expect((await notifier.publish(failed, only)).sent).toBe(true);
    expect(await notifier.publish(failed, { ...settings, enabled: false })).toEqual({
      sent: false,
      skipped: 'DISABLED',
    });
    expect(await notifier.publish(scaling, { ...settings, scaling: false })).toEqual({
      sent: false,
      skipped: 'FILTERED',
    });
    expect(await notifier.publish(failed, {})).toEqual({ sent: false, skipped: 'NO_TOPIC' });
    expect(sent.map((s) => JSON.parse(s.body).event)).toEqual(['TRAINING_FAILED']);
  });

  it('reports a failed publish instead of throwing, and logs codes only', async () => {
    const lines: string[] = [];
    const log = createLogger({}, { write: (l) => lines.push(l) });
    const { port } = fakePort({ statusCode: 429, serviceCode: 'TooManyRequests' });
    const n = runNotification(
      aRun({ lastError: { code: 'X', message: secretLine } }),
      'TRAINING_FAILED',
      {
        nowMs: t0,
      },
    );
    const out = await new Notifier(port, { log }).publish(n, settings);
    expect(out).toEqual({
      sent: false,
      failed: true,
      errorCode: 'TooManyRequests',
      retryable: true,
    });
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.find((e) => e.msg === 'notification not sent')).toMatchObject({
      errorCode: 'TooManyRequests',
      runId: n.runId,
    });
    expect(lines.join('\n')).not.toContain('secret');
  });
});
