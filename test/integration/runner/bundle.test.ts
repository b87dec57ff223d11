// The function bundle format (ESM + createRequire banner, SDK and FDK inlined) works under the real
// FDK, and the client factory reaches the emulator with the config-file auth it writes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '#local/emulator/index.ts';
import { FunctionRunner } from '#local/runner/index.ts';
import { bundleFixture } from '../../fixtures/functions/bundle.ts';

let dir: string;
let emulator: Emulator;
let runner: FunctionRunner;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dacflow-bundle-'));
  const bundle = await bundleFixture('sdk-probe', join(dir, 'sdk-probe'));
  emulator = await startEmulator({ dataDir: join(dir, 'emulator') });
  runner = new FunctionRunner({
    name: 'sdk-probe',
    dir: bundle,
    env: {
      OCI_CONFIG_FILE: emulator.configFile,
      OCI_CONFIG_PROFILE: emulator.profile,
      DACFLOW_OCI_ENDPOINT: emulator.url,
    },
  });
});

afterAll(async () => {
  await runner?.stop();
  await emulator?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('bundled function with the OCI SDK', () => {
  it('starts under the FDK and calls the emulator with signed requests', async () => {
    const res = await runner.invoke(Buffer.from(JSON.stringify({ namespace: true })));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({ ok: true, result: emulator.namespace });
  });

  it('returns INVALID_TRIGGER for a payload its schema rejects', async () => {
    const res = await runner.invoke(Buffer.from('[1,2]'));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toMatchObject({
      ok: false,
      error: { code: 'INVALID_TRIGGER' },
    });
  });
});
