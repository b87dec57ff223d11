import * as common from 'oci-common';
import { ObjectStorageClient } from 'oci-objectstorage';
import { afterAll, describe, expect, it } from 'vitest';
import { ScheduleError } from '#local/emulator/errors.ts';
import { FaultInjector, type FaultOptions } from '#local/emulator/faults.ts';
import type { Emulator } from '#local/emulator/index.ts';
import { clients, eventually, provider, startTest, tempDir } from './helpers.ts';

// Every emulator in this file runs in turn on one data dir, so the RSA key pair is generated once.
const shared = tempDir();
afterAll(() => shared.remove());
const start = (o: Parameters<typeof startTest>[0] = {}) => startTest({ dataDir: shared.dir, ...o });

function noRetryClient(emu: Emulator): ObjectStorageClient {
  const client = new ObjectStorageClient(
    { authenticationDetailsProvider: provider(emu) },
    { retryConfiguration: common.NoRetryConfigurationDetails },
  );
  client.endpoint = emu.url;
  return client;
}

async function statuses(seed: number, faults: FaultOptions, dataDir: string): Promise<number[]> {
  const { emu, cleanup } = await startTest({ seed, dataDir });
  try {
    const os = noRetryClient(emu);
    emu.setFaults(faults);
    const out: number[] = [];
    for (let i = 0; i < 12; i++) {
      out.push(
        await os.getNamespace({}).then(
          () => 200,
          (e: { statusCode: number }) => e.statusCode,
        ),
      );
    }
    return out;
  } finally {
    await cleanup();
  }
}

describe('fault injection', () => {
  it('is reproducible by seed', async () => {
    const faults: FaultOptions = { rate: 0.5, operations: ['GetNamespace'] };
    const a = await statuses(42, faults, shared.dir);
    expect(await statuses(42, faults, shared.dir)).toEqual(a);
    expect(await statuses(43, faults, shared.dir)).not.toEqual(a);
    expect(a.some((s) => s !== 200)).toBe(true);
    expect(a.every((s) => [200, 429, 500, 503, 409].includes(s))).toBe(true);
  });

  it('lets the SDK default retry ride through injected 429 and 503', async () => {
    const faults: FaultOptions = { rate: 0.5, kinds: ['429', '503'], operations: ['GetNamespace'] };
    // Pick the first seed whose plan is 429, 503, then success (each retry costs the SDK ~2-4 s).
    const plan = (seed: number) => {
      const f = new FaultInjector(seed, faults);
      return [0, 1, 2].map(() => f.decide('GetNamespace').kind ?? 'ok');
    };
    let seed = 1;
    while (plan(seed).join() !== '429,503,ok') seed++;
    const { emu, cleanup } = await start({ seed, faults });
    try {
      const { os } = clients(emu);
      const r = await os.getNamespace({});
      expect(r.value).toBe(emu.namespace);
      expect(emu.injectedFaults().map((f) => f.kind)).toEqual(['429', '503']);
    } finally {
      await cleanup();
    }
  }, 30_000);

  it('checks the signature before injecting faults', async () => {
    const { emu, cleanup } = await start({ faults: { rate: 1 } });
    try {
      const res = await fetch(`${emu.url}/n`);
      expect(res.status).toBe(401);
      expect(emu.injectedFaults()).toHaveLength(0);
    } finally {
      await cleanup();
    }
  });

  it('returns post-commit 5xx after the write took effect (a retried If-None-Match then sees 412)', async () => {
    const { emu, cleanup } = await start({
      faults: { rate: 1, kinds: ['503'], postCommitRate: 1, operations: ['PutObject'] },
    });
    try {
      const os = noRetryClient(emu);
      const base = { namespaceName: emu.namespace, bucketName: 'b' };
      await os.createBucket({
        namespaceName: emu.namespace,
        createBucketDetails: { name: 'b', compartmentId: emu.compartmentId },
      });
      await expect(
        os.putObject({ ...base, objectName: 'state/x', putObjectBody: 'v1', ifNoneMatch: '*' }),
      ).rejects.toMatchObject({
        statusCode: 503,
      });
      const head = await os.headObject({ ...base, objectName: 'state/x' });
      expect(head.contentLength).toBe(2);
      emu.setFaults(undefined);
      await expect(
        os.putObject({ ...base, objectName: 'state/x', putObjectBody: 'v1', ifNoneMatch: '*' }),
      ).rejects.toMatchObject({
        statusCode: 412,
      });
    } finally {
      await cleanup();
    }
  });
});

describe('local Resource Scheduler', () => {
  it('invokes a function every cron minute, about once a second in fast mode', async () => {
    const bodies: string[] = [];
    const { emu, cleanup } = await start({
      invokeFunction: async (_fn, body) => {
        bodies.push(body.toString('utf8'));
        return { status: 200, body: Buffer.from('{}') };
      },
    });
    try {
      emu.addSchedule({
        functionId: 'ocid1.fnfunc.oc1..poll',
        cron: '* * * * *',
        payload: { kind: 'reconcile' },
      });
      const runs = await eventually(() =>
        emu.scheduleRuns().length >= 2 ? emu.scheduleRuns() : undefined,
      );
      expect(runs[0]).toMatchObject({
        functionId: 'ocid1.fnfunc.oc1..poll',
        outcome: 'delivered',
        status: 200,
      });
      const [t0, t1] = runs.map((r) => Date.parse(r.scheduledFor));
      expect(t1! - t0!).toBe(60_000);
      expect(t0! % 60_000).toBe(0);
      expect(JSON.parse(bodies[0]!)).toEqual({ kind: 'reconcile' });
    } finally {
      await cleanup();
    }
  });

  it('rejects a bad cron expression', async () => {
    const { emu, cleanup } = await start();
    try {
      expect(() => emu.addSchedule({ functionId: 'f', cron: 'every minute' })).toThrow(
        ScheduleError,
      );
    } finally {
      await cleanup();
    }
  });
});
