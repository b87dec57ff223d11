/**
 * `npm start` as a user runs it: the built CLI's demo drives the whole pipeline on the embedded
 * emulator with the real functions under the FDK, then the autoscaling stage, and exits 0.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const root = join(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli/dacflow.js');

test('dacflow demo reaches SERVING and INVALID, then scales up and back down', () => {
  expect(existsSync(cli), 'dist/ is built by `npm install` (prepare) or `npm run build`').toBe(
    true,
  );
  const res = spawnSync(process.execPath, [cli, 'demo', '--timeout', '150'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 170_000,
  });
  const out = res.stdout;
  expect(res.status, `${out}\n${res.stderr}`).toBe(0);
  for (const stage of [
    'RECEIVED -> VALIDATING',
    'VALID -> TRAINING',
    'TRAINING -> TRAINED',
    'TRAINED -> DEPLOYING',
    'DEPLOYING -> SERVING',
    'VALIDATING -> INVALID',
  ]) {
    expect(out).toContain(stage);
  }
  expect(out).toMatch(/scale-dac set support-bot-hosting to \d+ units \(was 2\)/);
  expect(out).toMatch(/notification: dacflow support-bot: cluster SCALE_UP 2->\d+ units/);
  expect(out).toMatch(/done: scaled 2 -> \d+ units under the burst and back to \d+ after it/);
  // The demo's own datasets never leak into what it prints beyond names and counts.
  expect(out).not.toContain('has not arrived');
}, 180_000);
