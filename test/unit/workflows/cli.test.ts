import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '#cli/dacflow.ts';

const examples = [
  'workflows/examples/genai-support-bot.yaml',
  'workflows/examples/aqua-llama.yaml',
];

async function cli(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (c: string) => (stdout += c) },
    stderr: { write: (c: string) => (stderr += c) },
  });
  return { code, stdout, stderr };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dacflow-workflow-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fixture(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, text);
  return file;
}

describe('dacflow workflow check', () => {
  test('the shipped examples are ok', async () => {
    const r = await cli('workflow', 'check', ...examples);
    expect(r).toEqual({ code: 0, stdout: examples.map((f) => `ok ${f}\n`).join(''), stderr: '' });
  });

  test('a folder stands for its YAML files', async () => {
    const r = await cli('workflow', 'check', 'workflows/examples');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      ['aqua-llama.yaml', 'genai-support-bot.yaml']
        .map((f) => `ok workflows/examples/${f}\n`)
        .join(''),
    );
  });

  test('a misspelt key fails with its path and position', async () => {
    const text = (await readFile(examples[0]!, 'utf8')).replace('loraR: 8', 'loraRr: 8');
    const line = text.split('\n').findIndex((l) => l.includes('loraRr')) + 1;
    const bad = await fixture('misspelt/a.yaml', text);
    const r = await cli('workflow', 'check', bad, examples[1]!);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`ok ${examples[1]}\n`);
    expect(r.stderr).toBe(
      `${bad}: genai.trainingConfig.loraRr: unknown key (line ${line}, column 5)\n`,
    );
  });

  test('two files watching overlapping prefixes fail together', async () => {
    const text = await readFile(examples[0]!, 'utf8');
    const copy = await fixture(
      'overlap/b.yaml',
      text
        .replace('name: support-bot', 'name: support-bot-v2')
        .replace('datasets/support-bot/', 'datasets/'),
    );
    const r = await cli('workflow', 'check', examples[0]!, copy);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`ok ${examples[0]}\n`);
    expect(r.stderr).toMatch(
      new RegExp(`^${copy.replace(/[.]/g, '\\.')}: trigger: overlaps ${examples[0]}`),
    );
  });

  test('a YAML syntax error names its line', async () => {
    const bad = await fixture('syntax.yaml', 'name: x\ntrigger: {bucket: b\n');
    const r = await cli('workflow', 'check', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^${bad.replace(/[.]/g, '\\.')}: YAML [A-Z_]+: .*\\(line \\d+, column \\d+\\)\\n$`,
      ),
    );
  });

  test('an unreadable file exits 2 but the others are still checked', async () => {
    const missing = join(dir, 'nope.yaml');
    const r = await cli('workflow', 'check', missing, examples[0]!);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`dacflow workflow: cannot read ${missing}: ENOENT\n`);
    expect(r.stdout).toBe(`ok ${examples[0]}\n`);
  });

  test('a folder without YAML files is a usage error', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty, { recursive: true });
    const r = await cli('workflow', 'check', empty);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no \*\.yaml or \*\.yml files/);
  });

  test('without arguments it checks ./workflows/ and says when there is none', async () => {
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      await fixture('workflows/only.yaml', await readFile(join(cwd, examples[1]!), 'utf8'));
      expect(await cli('workflow', 'check')).toEqual({
        code: 0,
        stdout: 'ok workflows/only.yaml\n',
        stderr: '',
      });
      process.chdir(join(dir, 'empty'));
      const r = await cli('workflow', 'check');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no \.\/workflows\/ folder here/);
    } finally {
      process.chdir(cwd);
    }
  });

  test('a missing or unknown subcommand is a usage error', async () => {
    expect((await cli('workflow')).code).toBe(2);
    const r = await cli('workflow', 'lint');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown subcommand "lint"/);
  });

  test('--help tells the usage and exit codes', async () => {
    const r = await cli('workflow', 'check', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: dacflow workflow check/);
    expect(r.stdout).toMatch(/Exit codes: 0 all valid, 1 .* 2 usage error or unreadable file/);
  });

  test('dacflow --help lists the command', async () => {
    const r = await cli('--help');
    expect(r.stdout).toMatch(/^ {2}workflow +Check workflow files/m);
  });
});
