/**
 * The notification publisher through the real NotificationDataPlaneClient against the emulator's
 * ONS: a published run transition lands on an EMAIL subscription's outbox, within the size limit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileAuthenticationDetailsProvider } from 'oci-common';
import { NotificationControlPlaneClient, NotificationDataPlaneClient } from 'oci-ons';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEmulator, type Emulator } from '#local/emulator/index.ts';
import { createClient } from '#shared/oci/clients.ts';
import { Notifier, runNotification, type RunNotification } from '#shared/notify.ts';
import { createRun } from '#workflows/machine.ts';

describe('Notifier on the emulator ONS', () => {
  let dir: string;
  let emulator: Emulator;
  let data: NotificationDataPlaneClient;
  let topicId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dacflow-ons-'));
    emulator = await startEmulator({ dataDir: dir, fast: true, autoConfirmEmail: true });
    const provider = new ConfigFileAuthenticationDetailsProvider(
      emulator.configFile,
      emulator.profile,
    );
    const control = createClient(NotificationControlPlaneClient, {
      provider,
      endpoint: emulator.url,
    });
    data = createClient(NotificationDataPlaneClient, { provider, endpoint: emulator.url });
    const topic = await control.createTopic({
      createTopicDetails: { name: 'dacflow-runs', compartmentId: emulator.compartmentId },
    });
    topicId = topic.notificationTopic.topicId;
    // Subscriptions live on the data-plane client in the SDK (oci-ons client.d.ts).
    await data.createSubscription({
      createSubscriptionDetails: {
        topicId,
        compartmentId: emulator.compartmentId,
        protocol: 'EMAIL',
        endpoint: 'ops@example.com',
      },
    });
    control.close();
  });

  afterAll(async () => {
    data?.close();
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes a run transition that an EMAIL subscriber receives', async () => {
    const run = createRun(
      {
        workflow: 'support-bot',
        backend: 'genai',
        retireSuperseded: true,
        dataset: { namespace: 'ns', bucket: 'datasets', object: 'support/v1.jsonl', etag: 'e1' },
      },
      new Date('2026-11-21T10:00:00Z'),
    ).run;
    const n: RunNotification = {
      ...runNotification({ ...run, state: 'TRAINED' }, 'TRAINED', {
        nowMs: Date.parse('2026-11-21T11:00:00Z'),
      }),
      // Far more transitions than fit: the publisher must shrink them under ONS's limit.
      transitions: Array.from({ length: 20_000 }, (_, i) => `STATE_${i}>STATE_${i + 1}`),
    };
    const out = await new Notifier(data).publish(n, { topicId });
    expect(out).toMatchObject({ sent: true, truncated: true });

    // ONS fans out asynchronously after accepting the message.
    const delivered = await vi.waitFor(
      () => {
        const messages = emulator.outbox(topicId).filter((m) => m.kind === 'message');
        expect(messages).toHaveLength(1);
        return messages;
      },
      { timeout: 10_000, interval: 20 },
    );
    const msg = delivered[0];
    expect(msg?.protocol).toBe('EMAIL');
    expect(msg?.title).toBe(`dacflow support-bot: run ${run.runId} TRAINED`);
    const body = JSON.parse(msg?.body ?? '{}') as Record<string, unknown>;
    expect(body).toMatchObject({
      kind: 'run',
      event: 'TRAINED',
      runId: run.runId,
      durationMs: 3_600_000,
    });
    expect(Buffer.byteLength(msg?.body ?? '')).toBeLessThanOrEqual(64_000);
  });
});
