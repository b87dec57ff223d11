import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileAuthenticationDetailsProvider } from 'oci-common';
import { ObjectStorageClient } from 'oci-objectstorage';
import { NotificationDataPlaneClient } from 'oci-ons';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocalJson, startStack, type Stack } from '#local/stack.ts';
import { generateEvent } from '#local/runner/events.ts';
import { createClient } from '#shared/oci/clients.ts';
import { topicKeys } from '#shared/wiring.ts';
import { bundleFixture } from '../../fixtures/functions/bundle.ts';

let dir: string;
let stack: Stack;
let os: ObjectStorageClient;
let ons: NotificationDataPlaneClient;
const logs: { function: string; line: string }[] = [];

async function recorded(prefix: string, timeoutMs = 15_000): Promise<string[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await os.listObjects({
      namespaceName: stack.local.namespace,
      bucketName: stack.local.buckets.state,
      prefix,
    });
    const names = (res.listObjects.objects ?? []).map((o) => o.name);
    if (names.length > 0 || Date.now() > until) return names;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!check() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  return check();
}

async function readObject(name: string): Promise<Record<string, unknown>> {
  const r = await os.getObject({
    namespaceName: stack.local.namespace,
    bucketName: stack.local.buckets.state,
    objectName: name,
  });
  return JSON.parse(await new Response(r.value as ReadableStream).text()) as Record<
    string,
    unknown
  >;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dacflow-stack-'));
  const recorder = await bundleFixture('recorder', join(dir, 'bundles/recorder'));
  stack = await startStack({
    dataDir: join(dir, 'data'),
    fast: true,
    triggers: [{ name: 'bot', bucket: 'ds', prefix: 'datasets/bot/' }],
    functions: { 'validate-dataset': recorder, 'scale-dac': recorder, 'poll-status': recorder },
    functionLogSink: (e) => logs.push(e),
  });
  const provider = new ConfigFileAuthenticationDetailsProvider(
    stack.local.configFile,
    stack.local.profile,
  );
  os = createClient(ObjectStorageClient, {
    provider,
    endpoint: stack.local.endpoints.objectstorage,
  });
  ons = createClient(NotificationDataPlaneClient, {
    provider,
    endpoint: stack.local.endpoints.notifications,
  });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('local stack', () => {
  it('writes local.json with endpoints, resources and functions', () => {
    const local = readLocalJson(join(dir, 'data'));
    expect(local).toEqual(stack.local);
    expect(local.endpoints.objectstorage).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(local.buckets).toEqual({ datasets: ['ds'], state: 'ds' });
    expect(Object.keys(local.topics).sort()).toEqual([...topicKeys].sort());
    expect(local.functions['validate-dataset']).toBe('ocid1.fnfunc.oc1..validate-dataset');
    expect(local.workflows).toEqual([{ name: 'bot', bucket: 'ds', prefix: 'datasets/bot/' }]);
  });

  it('created the bucket with object events and versioning on', async () => {
    const b = await os.getBucket({ namespaceName: stack.local.namespace, bucketName: 'ds' });
    expect(b.bucket.objectEventsEnabled).toBe(true);
    expect(b.bucket.versioning).toBe('Enabled');
  });

  it('runs validate-dataset under the FDK when an SDK upload matches the rule', async () => {
    const put = await os.putObject({
      namespaceName: stack.local.namespace,
      bucketName: 'ds',
      objectName: 'datasets/bot/train.jsonl',
      putObjectBody: '{"prompt":"a","completion":"b"}\n',
    });
    await os.putObject({
      namespaceName: stack.local.namespace,
      bucketName: 'ds',
      objectName: 'other/ignored.jsonl',
      putObjectBody: '{}\n',
    });
    const names = await recorded('dacflow/state/recorded/validate-dataset/object-');
    expect(names).toHaveLength(1);
    const rec = await readObject(names[0]!);
    expect(rec).toMatchObject({
      kind: 'object',
      fn: 'validate-dataset',
      ref: { bucket: 'ds', object: 'datasets/bot/train.jsonl', etag: put.eTag },
    });
    const ran = () =>
      logs.some((l) => l.function === 'validate-dataset' && l.line.includes('"msg":"recorded"'));
    expect(await eventually(ran)).toBe(true);
  });

  it('delivers an alarm published to the alarms topic to scale-dac', async () => {
    const alarm = generateEvent('alarm', { now: new Date(), id: 'dedupe-1' });
    await ons.publishMessage({
      topicId: stack.local.topics.alarms,
      messageDetails: { title: 'alarm', body: JSON.stringify(alarm) },
    });
    const names = await recorded('dacflow/state/recorded/scale-dac/alarm-dedupe-1-');
    expect(names.length).toBeGreaterThanOrEqual(1);
    expect(await readObject(names[0]!)).toMatchObject({ kind: 'alarm', type: 'OK_TO_FIRING' });
  });

  it('runs the poll schedule (fast mode: every second)', async () => {
    const names = await recorded('dacflow/state/recorded/poll-status/schedule-');
    expect(names.length).toBeGreaterThanOrEqual(1);
  });

  it('invokes a function through the loopback invoke endpoint', async () => {
    const event = generateEvent('objectstorage-create', {
      now: new Date(),
      id: 'manual-1',
      namespace: stack.local.namespace,
      bucket: 'ds',
    });
    const res = await fetch(
      `${stack.local.invokeUrl}/20181201/functions/validate-dataset/actions/invoke`,
      {
        method: 'POST',
        body: JSON.stringify(event),
        headers: { 'content-type': 'application/json' },
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('fn-call-id')).toMatch(/^[0-9A-F]+$/);
    const body = (await res.json()) as { ok: boolean; result: { recorded: string } };
    expect(body.ok).toBe(true);
    expect(body.result.recorded).toContain('object-manual-1-');
    const missing = await fetch(`${stack.local.invokeUrl}/20181201/functions/nope/actions/invoke`, {
      method: 'POST',
      body: '{}',
    });
    expect(missing.status).toBe(404);
  });

  it('reports a bad payload as a JSON error result, not a 502', async () => {
    const r = await stack.invoke('validate-dataset', Buffer.from('"just a string"'));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString())).toMatchObject({
      ok: false,
      error: { code: 'INVALID_TRIGGER' },
    });
  });

  it('stops every function process', async () => {
    const runners = [...stack.runners.values()];
    expect(runners.every((r) => r.liveInstances === 1)).toBe(true);
    await stack.stop();
    expect(runners.every((r) => r.liveInstances === 0)).toBe(true);
    expect(JSON.parse(readFileSync(stack.localJsonPath, 'utf8')).pid).toBe(process.pid);
  });
});
