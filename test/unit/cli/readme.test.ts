/** The README's command table is the CLI's own list: a command added or renamed fails here. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { main } from '../../../cli/dacflow.ts';

test('README lists exactly the commands `dacflow --help` prints, with the same summaries', async () => {
  let out = '';
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true } };
  expect(await main(['--help'], io)).toBe(0);
  const fromCli = [...out.matchAll(/^ {2}(\S+)\s{2,}(.+)$/gm)].map(
    (m) => `| \`dacflow ${m[1]}\` | ${m[2]} |`,
  );
  expect(fromCli.length).toBeGreaterThan(5);
  const readme = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');
  const fromReadme = readme.split('\n').filter((l) => l.startsWith('| `dacflow '));
  expect(fromReadme).toEqual(fromCli);
});

test('every command answers --help with usage and exit 0', async () => {
  let out = '';
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true } };
  await main(['--help'], io);
  const names = [...out.matchAll(/^ {2}(\S+)\s{2,}/gm)].map((m) => m[1]!);
  for (const name of names) {
    let help = '';
    const code = await main([name, '--help'], {
      stdout: { write: (s: string) => (help += s) },
      stderr: { write: () => true },
    });
    expect(code, name).toBe(0);
    expect(help, name).toMatch(/usage/i);
  }
});
