import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
let dir: string;
let cli: string;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function runCli(args: string[], input?: string) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', input, cwd: root });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dacflow-cli-'));
  cli = join(dir, 'cli/dacflow.js');
  // The CLI bundled as `npm run build` does, into a temp folder (dist/ belongs to the build).
  await build({
    entryPoints: [join(root, 'cli/main.ts')],
    outfile: cli,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
  mkdirSync(join(dir, 'functions'));
  symlinkSync(join(root, 'test/fixtures/functions/echo'), join(dir, 'functions/echo'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('dacflow local / invoke / events', () => {
  it('starts, serves invoke, and stops on SIGTERM without orphan processes', async () => {
    const dataDir = join(dir, 'data');
    const child = spawn(
      process.execPath,
      [cli, 'local', '--data-dir', dataDir, '--fast', '--functions-dir', join(dir, 'functions')],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    try {
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('ready at')) resolve();
        });
        child.once('exit', () => reject(new Error(`exited before ready: ${err}`)));
      });
      expect(out).toMatch(
        /dacflow local: ready at http:\/\/127\.0\.0\.1:\d+ .*1 function\(s\): echo/,
      );

      const payload = join(dir, 'payload.json');
      const gen = runCli(['events', 'generate', 'alarm', '--id', 'k1', '--alarm-type', 'RESET']);
      expect(gen.status).toBe(0);
      const inv = runCli(['invoke', 'echo', '--file', '-', '--data-dir', dataDir], gen.stdout);
      expect(inv.status).toBe(0);
      const echoed = JSON.parse(inv.stdout) as {
        body: { dedupeKey: string; type: string };
        pid: number;
      };
      expect(echoed.body).toMatchObject({ dedupeKey: 'k1', type: 'RESET' });
      expect(alive(echoed.pid)).toBe(true);

      const missing = runCli(['invoke', 'nope', '--data-dir', dataDir]);
      expect(missing.status).toBe(2);
      expect(missing.stderr).toContain('no function "nope"');
      expect(runCli(['invoke', 'echo', '--file', payload, '--data-dir', dataDir]).status).toBe(2);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('dacflow local: stopped');
      expect(alive(echoed.pid)).toBe(false);
    } finally {
      // A failed assertion must not leave the stack running.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
  });

  it('reports a missing stack as a usage error', () => {
    const r = runCli(['invoke', 'echo', '--data-dir', join(dir, 'nowhere')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('local.json');
  });

  it('rejects an unknown event kind and prints each known kind as JSON', () => {
    const bad = runCli(['events', 'generate', 'bogus']);
    expect(bad.status).toBe(2);
    for (const kind of ['objectstorage-update', 'schedule']) {
      const r = runCli([
        'events',
        'generate',
        kind,
        '--bucket',
        'b1',
        '--object',
        'datasets/x.jsonl',
      ]);
      expect(r.status).toBe(0);
      expect(() => JSON.parse(r.stdout)).not.toThrow();
    }
  });
});
