/**
 * The state contract on the Object Storage store, through the real ObjectStorageClient (signed
 * requests, the SDK's own retry) against the local emulator with fault injection on: 429/500/503,
 * latency, and 5xx returned after the write took effect (the retried-412 case of facts sheet F).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigFileAuthenticationDetailsProvider,
  MaxAttemptsTerminationStrategy,
} from 'oci-common';
import { ObjectStorageClient } from 'oci-objectstorage';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEmulator, type Emulator, type FaultOptions } from '#local/emulator/index.ts';
import { createClient } from '#shared/oci/clients.ts';
import { realCasDeps } from '#shared/state/cas.ts';
import { ObjectStorageStore } from '#shared/state/object-storage.ts';
import { describeStateContract, seeded } from '../../unit/state/state-contract.ts';

const faults: FaultOptions = {
  rate: 0.1,
  latencyMs: 4,
  postCommitRate: 0.5,
  kinds: ['429', '500', '503'],
  operations: ['PutObject', 'GetObject', 'ListObjects', 'DeleteObject'],
};

export async function startStateEmulator(
  options: { ifMatchMissingStatus?: 404 | 412; seed?: number } = {},
): Promise<{ emulator: Emulator; client: ObjectStorageClient; bucket: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'dacflow-state-'));
  const emulator = await startEmulator({
    dataDir: dir,
    fast: true,
    seed: options.seed ?? 3,
    ...options,
  });
  const client = createClient(ObjectStorageClient, {
    provider: new ConfigFileAuthenticationDetailsProvider(emulator.configFile, emulator.profile),
    endpoint: emulator.url,
    // The SDK's retry policy with its delays shrunk to milliseconds (seconds in the SDK's unit).
    retryConfiguration: {
      terminationStrategy: new MaxAttemptsTerminationStrategy(8),
      delayStrategy: { delay: () => 0.002 },
    },
  });
  const bucket = 'dacflow-state';
  await client.createBucket({
    namespaceName: emulator.namespace,
    createBucketDetails: { name: bucket, compartmentId: emulator.compartmentId },
  });
  return { emulator, client, bucket, dir };
}

// The SDK prints a console.warn line for every retry it makes; hundreds are expected here.
const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
afterAll(() => warn.mockRestore());

for (const ifMatchMissingStatus of [404, 412] as const) {
  describeStateContract(
    `Object Storage on the emulator, faults on, If-Match on a missing object -> ${ifMatchMissingStatus}`,
    async () => {
      const { emulator, client, bucket, dir } = await startStateEmulator({ ifMatchMissingStatus });
      // The store-only variant makes few requests: a higher rate so it still meets faults.
      emulator.setFaults(ifMatchMissingStatus === 404 ? faults : { ...faults, rate: 0.3 });
      const store = new ObjectStorageStore({ client, namespace: emulator.namespace, bucket });
      return {
        store,
        repoStore: store,
        // Sized for the 50-writers-on-one-record proof; production keeps the default policy.
        cas: {
          ...realCasDeps,
          random: seeded(5),
          policy: { maxAttempts: 60, baseDelayMs: 10, maxDelayMs: 3_000 },
        },
        close: async () => {
          const injected = emulator.injectedFaults();
          emulator.setFaults(undefined);
          client.close();
          await emulator.close();
          rmSync(dir, { recursive: true, force: true });
          // The contract only means something if the faults really happened.
          expect(injected.length).toBeGreaterThan(ifMatchMissingStatus === 404 ? 50 : 5);
          if (ifMatchMissingStatus === 404) {
            const postCommitPuts = injected.filter(
              (f) => f.operation === 'PutObject' && f.postCommit,
            );
            expect(postCommitPuts.length).toBeGreaterThan(5);
          }
        },
      };
    },
    // The repositories run on the default (404) variant; 412 only changes the store's mapping.
    { storeOnly: ifMatchMissingStatus === 412 },
  );
}

describe('Object Storage store: the retried write', () => {
  let env: Awaited<ReturnType<typeof startStateEmulator>>;
  beforeAll(async () => {
    env = await startStateEmulator({ seed: 9 });
  });
  afterAll(async () => {
    env.client.close();
    await env.emulator.close();
    rmSync(env.dir, { recursive: true, force: true });
  });

  it('a create whose first attempt committed and came back 503 is still reported as created', async () => {
    const store = new ObjectStorageStore({
      client: env.client,
      namespace: env.emulator.namespace,
      bucket: env.bucket,
    });
    // Every PutObject fails after it took effect; the SDK retries, the retry gets 412.
    env.emulator.setFaults({
      rate: 1,
      postCommitRate: 1,
      kinds: ['503'],
      operations: ['PutObject'],
    });
    try {
      const res = await store.create('retried/create', { n: 1 });
      expect(res.etag).toEqual(expect.any(String));
    } finally {
      env.emulator.setFaults(undefined);
    }
    expect((await store.read('retried/create'))?.doc).toEqual({ n: 1 });
    await expect(store.create('retried/create', { n: 2 })).rejects.toMatchObject({
      code: 'STATE_ALREADY_EXISTS',
    });
  });

  it('a replace that committed but was superseded before the re-read still counts as ours', async () => {
    const namespace = env.emulator.namespace;
    const store = new ObjectStorageStore({ client: env.client, namespace, bucket: env.bucket });
    const other = new ObjectStorageStore({ client: env.client, namespace, bucket: env.bucket });
    const created = await store.create('retried/replace', { n: 1 });
    // A port that lets the PUT commit, then lets another writer in, then fails like a lost response.
    const racing = new ObjectStorageStore({
      namespace,
      bucket: env.bucket,
      client: {
        getObject: (r) => env.client.getObject(r),
        listObjects: (r) => env.client.listObjects(r),
        deleteObject: (r) => env.client.deleteObject(r),
        putObject: async (r) => {
          await env.client.putObject(r);
          const seen = await other.read<{ n: number }>('retried/replace');
          await other.replace('retried/replace', { n: 100 }, seen?.etag as string);
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        },
      },
    });
    // Prime the write-id chain the way a repository does: read, then replace.
    const seen = await racing.read('retried/replace');
    expect(seen?.etag).toBe(created.etag);
    const res = await racing.replace('retried/replace', { n: 2 }, seen?.etag as string);
    expect(res.etag).toBeUndefined();
    expect((await store.read('retried/replace'))?.doc).toEqual({ n: 100 });
  });
});
