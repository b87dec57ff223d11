import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '#cli/dacflow.ts';
import type { ValidationReport } from '#shared/dataset/report.ts';

const fixtures = new URL('../../fixtures/datasets/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'dacflow-dataset-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(args: string[], stderrTTY = false) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: stderrTTY },
  });
  return { code, stdout, stderr };
}

describe('dacflow validate', () => {
  it('exit 0 and a summary for a valid dataset', async () => {
    const r = await cli(['validate', join(fixtures, 'valid-genai.jsonl')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^VALID: 32 examples/);
    expect(r.stderr).toBe('');
  });

  it('exit 1 and the report alone with --json for an invalid dataset', async () => {
    const r = await cli(['validate', join(fixtures, 'invalid-genai.jsonl'), '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as ValidationReport;
    expect(report.errorCounts).toEqual({
      MISSING_FIELD: 1,
      WRONG_TYPE: 1,
      INVALID_JSON: 1,
      TOO_FEW_EXAMPLES: 1,
    });
    expect(report.errors.map((e) => e.line)).toEqual([31, 32, 33, 0]);
  });

  it('--min-examples and --base-model change the rules', async () => {
    const file = join(fixtures, 'valid-genai.jsonl');
    expect((await cli(['validate', file, '--min-examples', '33'])).code).toBe(1);
    const r = await cli(['validate', file, '--base-model', 'cohere.command-r-08-2024', '--json']);
    expect((JSON.parse(r.stdout) as ValidationReport).tokenCounting.limitCheck).toBe(
      'utf8-bytes-upper-bound',
    );
  });

  it('--workflow takes minExamples and the base model from the workflow file', async () => {
    const r = await cli([
      'validate',
      join(fixtures, 'valid-genai.jsonl'),
      '--workflow',
      join(fixtures, 'workflow-genai.yaml'),
      '--json',
    ]);
    const report = JSON.parse(r.stdout) as ValidationReport;
    expect(report.baseModel).toBe('cohere.command-r-08-2024');
    expect(report.minExamples).toBe(33);
    expect(r.code).toBe(1);
  });

  it('exit 2 for usage and read errors, without a stack trace', async () => {
    const missing = await cli(['validate', join(tmp, 'nope.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
    expect(missing.stderr).not.toContain('    at ');
    expect((await cli(['validate'])).code).toBe(2);
    expect((await cli(['validate', 'a', '--format', 'csv'])).code).toBe(2);
    expect((await cli(['validate', 'a', '--min-examples', 'x'])).code).toBe(2);
    expect((await cli(['validate', 'a', '--template', 'llama2'])).stderr).toContain('aqua');
    expect((await cli(['validate', 'a', '--bogus'])).code).toBe(2);
  });

  it('--help tells the options and exit codes', async () => {
    const r = await cli(['validate', '--help']);
    expect(r.code).toBe(0);
    for (const opt of [
      '--workflow',
      '--base-model',
      '--format',
      '--min-examples',
      '--json',
      'Exit codes',
    ]) {
      expect(r.stdout).toContain(opt);
    }
  });

  it('no progress bar for small files even on a TTY', async () => {
    const r = await cli(['validate', join(fixtures, 'valid-genai.jsonl')], true);
    expect(r.stderr).toBe('');
  });
});

describe('dacflow convert', () => {
  it('converts an alpaca JSON array, reports drops, and the output validates', async () => {
    const out = join(tmp, 'alpaca.jsonl');
    const r = await cli(['convert', join(fixtures, 'alpaca.json'), out, '--from', 'alpaca']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Converted 34 of 35 records (json-array)');
    expect(r.stdout).toContain('MISSING_FIELD 1');
    const first = JSON.parse(readFileSync(out, 'utf8').split('\n')[0]!);
    expect(first).toEqual({ prompt: 'Add 0 and 0.\n\nNumbers: 0, 0', completion: '0' });
    expect((await cli(['validate', out])).code).toBe(0);
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('never overwrites without --force', async () => {
    const out = join(tmp, 'exists.jsonl');
    writeFileSync(out, 'keep me');
    const r = await cli(['convert', join(fixtures, 'alpaca.json'), out, '--from', 'alpaca']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--force');
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    const forced = await cli([
      'convert',
      join(fixtures, 'alpaca.json'),
      out,
      '--from',
      'auto',
      '--force',
      '--json',
    ]);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ converted: 34, detected: { alpaca: 34 } });
  });

  it('exit 1 when nothing converts; exit 2 for bad input and usage, leaving no files', async () => {
    const src = join(tmp, 'chat.jsonl');
    writeFileSync(src, '{"messages":[{"role":"user","content":"only a question"}]}\n');
    const none = await cli(['convert', src, join(tmp, 'none.jsonl'), '--from', 'openai-chat']);
    expect(none.code).toBe(1);
    const truncated = join(tmp, 'truncated.json');
    writeFileSync(truncated, '[{"instruction":"a","output":"b"}');
    const bad = await cli(['convert', truncated, join(tmp, 'bad.jsonl'), '--from', 'alpaca']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('closing bracket');
    expect(readdirSync(tmp).filter((f) => f.startsWith('bad') || f.includes('.tmp'))).toEqual([]);
    expect((await cli(['convert', src, join(tmp, 'x.jsonl')])).stderr).toContain(
      '--from is required',
    );
    expect((await cli(['convert', src, join(tmp, 'x.jsonl'), '--from', 'csv'])).code).toBe(2);
    expect(
      (
        await cli([
          'convert',
          src,
          join(tmp, 'x.jsonl'),
          '--from',
          'sharegpt',
          '--template',
          'llama2',
        ])
      ).code,
    ).toBe(2);
    expect(
      (await cli(['convert', join(tmp, 'missing.json'), join(tmp, 'x.jsonl'), '--from', 'alpaca']))
        .code,
    ).toBe(2);
  });
});
