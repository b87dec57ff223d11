import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FunctionRunner, type FunctionLogEntry } from '#local/runner/index.ts';

const fixtures = join(import.meta.dirname, '../../fixtures/functions');
const runners: FunctionRunner[] = [];

function runner(
  name: string,
  extra: Partial<ConstructorParameters<typeof FunctionRunner>[0]> = {},
) {
  const logs: FunctionLogEntry[] = [];
  const r = new FunctionRunner({
    name,
    dir: join(fixtures, name),
    logSink: (e) => logs.push(e),
    ...extra,
  });
  runners.push(r);
  return { r, logs };
}

const json = (b: Buffer) => JSON.parse(b.toString('utf8')) as Record<string, unknown>;
const payload = (v: unknown) => Buffer.from(JSON.stringify(v));

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
});

describe('FunctionRunner with the real FDK', () => {
  it('passes the body, Fn headers and Fn variables, and reads func.yaml', async () => {
    const { r, logs } = runner('echo', { now: () => new Date('2026-01-01T00:00:00Z') });
    await r.start();
    const res = await r.invoke(payload({ hello: 'world' }), { 'X-Custom': 'yes' });
    expect(res.status).toBe(200);
    expect(res.timedOut).toBe(false);
    const out = json(res.body);
    expect(out.body).toEqual({ hello: 'world' });
    expect(out.callId).toBe(res.callId);
    // func.yaml says timeout 5 and memory 256.
    expect(out.deadline).toBe('2026-01-01T00:00:05.000Z');
    expect(out.memory).toBe(256);
    expect(out.fnName).toBe('echo');
    expect(out.fnId).toBe('ocid1.fnfunc.oc1..echo');
    expect(out.appName).toBe('dacflow');
    expect(out.contentType).toBe('application/json');
    expect(out.custom).toBe('yes');
    const own = logs.filter((l) => l.callId === res.callId).map((l) => [l.stream, l.line]);
    expect(own).toContainEqual(['stdout', `echo call ${res.callId}`]);
    expect(own).toContainEqual(['stderr', 'echo stderr line']);
    expect(logs.some((l) => l.line.startsWith('dacflow_fn_call='))).toBe(false);
  });

  it('keeps the process warm across calls', async () => {
    const { r } = runner('echo');
    const a = json((await r.invoke(payload(1))).body);
    const b = json((await r.invoke(payload(2))).body);
    expect(a.pid).toBe(b.pid);
    expect(a.callId).not.toBe(b.callId);
  });

  it('sets function configuration from func.yaml and options as environment', async () => {
    const { r } = runner('env', {
      env: { DACFLOW_STATE_BUCKET: 'state-b' },
    });
    const res = await r.invoke(payload({ keys: ['DACFLOW_STATE_BUCKET', 'FN_FORMAT', 'VITEST'] }));
    expect(json(res.body)).toEqual({
      DACFLOW_STATE_BUCKET: 'state-b',
      FN_FORMAT: 'http-stream',
      // The parent's environment does not leak into the function.
      VITEST: null,
    });
  });

  it('kills a call that exceeds the timeout, reports it, and restarts on the next call', async () => {
    const { r } = runner('slow');
    expect(r.timeoutSec).toBe(1);
    const first = json((await r.invoke(payload({ sleepMs: 0 }))).body);
    const res = await r.invoke(payload({ sleepMs: 5000 }));
    expect(res.status).toBe(504);
    expect(res.timedOut).toBe(true);
    expect(json(res.body).code).toBe('FunctionTimeout');
    const after = await r.invoke(payload({ sleepMs: 0 }));
    expect(after.status).toBe(200);
    expect(json(after.body).pid).not.toBe(first.pid);
  });

  it('reports a crash mid-call as 502 and restarts the process on the next call', async () => {
    const { r, logs } = runner('crash');
    const before = json((await r.invoke(payload({}))).body);
    const res = await r.invoke(payload({ crash: true }));
    expect(res.status).toBe(502);
    expect(res.crashed).toBe(true);
    expect(logs.some((l) => l.line === 'crash: exiting now' && l.callId === res.callId)).toBe(true);
    const after = await r.invoke(payload({}));
    expect(after.status).toBe(200);
    expect(json(after.body).pid).not.toBe(before.pid);
  });

  it('passes the FDK 502 for a thrown error through without a restart', async () => {
    const { r } = runner('crash');
    const before = json((await r.invoke(payload({}))).body);
    const res = await r.invoke(payload({ throw: true }));
    expect(res.status).toBe(502);
    expect(res.crashed).toBe(false);
    expect(json(res.body).message).toMatch(/Exception in function/);
    expect(json((await r.invoke(payload({}))).body).pid).toBe(before.pid);
  });

  it('reports the FDK crash on an undefined result and restarts for the next call', async () => {
    const { r, logs } = runner('undefined-result');
    const res = await r.invoke(payload({}));
    // FDK 0.0.76 sends 200 headers, then dies on `p.then` of undefined (toolchain.md).
    expect(res).toMatchObject({ status: 502, crashed: true, timedOut: false });
    expect(logs.some((l) => l.callId === res.callId && l.line.includes("reading 'then'"))).toBe(
      true,
    );
    const again = await r.invoke(payload({}));
    expect(again).toMatchObject({ status: 502, crashed: true });
  });

  it('runs one call at a time per instance and spreads over maxInstances', async () => {
    const { r } = runner('slow', { timeoutSec: 10 });
    const calls = await Promise.all([1, 2, 3].map(() => r.invoke(payload({ sleepMs: 50 }))));
    expect(new Set(calls.map((c) => json(c.body).pid)).size).toBe(1);
    const { r: wide } = runner('slow', { timeoutSec: 10, maxInstances: 2 });
    const spread = await Promise.all([1, 2].map(() => wide.invoke(payload({ sleepMs: 300 }))));
    expect(new Set(spread.map((c) => json(c.body).pid)).size).toBe(2);
    expect(wide.liveInstances).toBe(2);
  });

  it('refuses a request over 6 MB without calling the function', async () => {
    const { r } = runner('echo');
    const res = await r.invoke(Buffer.alloc(6 * 1024 * 1024 + 1, 0x20));
    expect(res.status).toBe(413);
    expect(r.liveInstances).toBe(0);
  });

  it('removes a stale socket before starting and cleans up on stop', async () => {
    const { r } = runner('echo');
    await r.start();
    expect(r.liveInstances).toBe(1);
    await r.stop();
    expect(r.liveInstances).toBe(0);
    await expect(r.invoke(payload({}))).rejects.toThrow(/stopped/);
  });

  it('fails start clearly when the function cannot start', async () => {
    const { r } = runner('missing-function', { dir: join(fixtures, 'does-not-exist') });
    await expect(r.start()).rejects.toThrow();
    expect(existsSync(join(fixtures, 'does-not-exist'))).toBe(false);
  });
});
