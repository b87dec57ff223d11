/**
 * The contract with `dacflow local`: a stack started by `startStack` (local/stack.ts) writes a
 * local.json that doctor reads, and the wiring it creates passes every check.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { command } from '#cli/commands/doctor.ts';
import { startStack, type Stack } from '#local/stack.ts';
import type { Finding } from '#shared/doctor/types.ts';

let dir: string;
let stack: Stack;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dacflow-doctor-stack-'));
  stack = await startStack({
    dataDir: dir,
    fast: true,
    functions: {},
    triggers: [{ name: 'example', bucket: 'dacflow-datasets', prefix: 'datasets/example/' }],
  });
});

afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('reports a freshly started local stack all ok', async () => {
  let out = '';
  let err = '';
  const code = await command.run(['--data-dir', dir, '--json'], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  });
  expect(err).toBe('');
  const { findings } = JSON.parse(out) as { findings: Finding[] };
  expect(findings.filter((f) => f.status !== 'ok')).toEqual([]);
  expect(code).toBe(0);
  expect(findings.find((f) => f.check === 'events.rule')!.message).toContain(
    'dacflow-example-dataset',
  );
});
