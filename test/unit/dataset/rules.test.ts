import { describe, expect, it } from 'vitest';
import { DuplicateTracker } from '#shared/dataset/dedup.ts';
import { LineSplitter, type Line } from '#shared/dataset/lines.ts';
import { renderSummary } from '#shared/dataset/report.ts';
import {
  checkRecord,
  compressionOf,
  defaultTokenLimits,
  llama2TemplateProblem,
  overrideTokenLimits,
  snippet,
  tokenLimitsFor,
} from '#shared/dataset/rules.ts';
import { QuantileSketch } from '#shared/dataset/sketch.ts';
import { fileOf, validate, validLines } from './helpers.ts';

describe('rules', () => {
  it('checkRecord returns the example only when there are no findings', () => {
    expect(checkRecord({ prompt: 'a', completion: 'b' }, 1, 'genai')).toEqual({
      findings: [],
      example: { prompt: 'a', completion: 'b' },
    });
    const bad = checkRecord({ prompt: 'a' }, 7, 'genai');
    expect(bad.example).toBeUndefined();
    expect(bad.findings).toEqual([
      { line: 7, code: 'MISSING_FIELD', message: 'missing field "completion"' },
    ]);
  });

  it('llama2 template: balanced pairs pass, each kind of imbalance has a reason', () => {
    expect(llama2TemplateProblem('[INST] hi [/INST]')).toBeUndefined();
    expect(
      llama2TemplateProblem('[INST] <<SYS>>\ns\n<</SYS>>\n\nq [/INST] a </s><s>[INST] q2 [/INST]'),
    ).toBeUndefined();
    for (const bad of [
      'hi',
      '[INST] hi',
      'hi [/INST]',
      '[INST] [INST] x [/INST]',
      '[INST] <<SYS>> s [/INST]',
      '[INST] s <</SYS>> [/INST]',
      '[INST] x [/INST] [INST] <<SYS>> s <</SYS>> [/INST]',
      '[INST] <<SYS>> a <</SYS>> <<SYS>> b <</SYS>> [/INST]',
    ]) {
      expect(llama2TemplateProblem(bad), bad).toBeTypeOf('string');
    }
  });

  it('compression magic numbers', () => {
    expect(compressionOf(Buffer.from([0x1f, 0x8b, 8]))).toBe('gzip');
    expect(compressionOf(Buffer.from('{"prompt"'))).toBeUndefined();
    expect(compressionOf(Buffer.from([0x1f]))).toBeUndefined();
  });

  it('snippet keeps at most a few characters', () => {
    expect(snippet('a'.repeat(100))).toBe(JSON.stringify('a'.repeat(16) + '…'));
    expect(snippet('ab')).toBe('"ab"');
  });

  it('every default token limit names its source and a counting method', () => {
    for (const [model, l] of Object.entries(defaultTokenLimits)) {
      expect(l.source.length, model).toBeGreaterThan(10);
      expect(l.maxPromptTokens ?? l.maxCompletionTokens ?? l.maxTotalTokens, model).toBeGreaterThan(
        0,
      );
    }
    expect(tokenLimitsFor('cohere.command-r-08-2024')).toMatchObject({
      maxPromptTokens: 16_000,
      maxCompletionTokens: 4_000,
    });
    expect(tokenLimitsFor('meta.llama-3.3-70b-instruct')).toMatchObject({
      maxTotalTokens: 128_000,
      counting: 'llama3-tokenizer',
    });
    expect(tokenLimitsFor(undefined).counting).toBe('none');
    expect(overrideTokenLimits('x', { maxPromptTokens: 5 }, 'wf')).toMatchObject({
      maxPromptTokens: 5,
      counting: 'utf8-bytes-upper-bound',
      source: 'wf',
    });
  });
});

describe('QuantileSketch', () => {
  it('is within 1% of the exact quantiles on a skewed distribution', () => {
    const s = new QuantileSketch();
    const values: number[] = [];
    let x = 12345;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const v = Math.floor(1 + (x / 2 ** 31) ** 3 * 100_000);
      values.push(v);
      s.add(v);
    }
    values.sort((a, b) => a - b);
    for (const q of [0.5, 0.95]) {
      const exact = values[Math.floor(q * (values.length - 1))]!;
      expect(Math.abs(s.quantile(q) - exact) / exact).toBeLessThan(0.021);
    }
    expect(s.distribution().min).toBe(values[0]);
    expect(s.distribution().max).toBe(values.at(-1));
  });

  it('is all zeros when empty', () => {
    expect(new QuantileSketch().distribution()).toEqual({ min: 0, p50: 0, p95: 0, max: 0 });
  });
});

describe('DuplicateTracker', () => {
  it('finds repeats across growth and stops remembering at the cap', () => {
    const t = new DuplicateTracker(10_000);
    const firstSeen: number[] = [];
    for (let i = 1; i <= 10_000; i++) firstSeen.push(t.check(`k${i}`, i));
    expect(firstSeen.every((x) => x === 0)).toBe(true);
    const repeats: number[] = [];
    const expected: number[] = [];
    for (let i = 1; i <= 10_000; i += 97) {
      repeats.push(t.check(`k${i}`, 99_999));
      expected.push(i);
    }
    expect(repeats).toEqual(expected);
    expect(t.saturated).toBe(false);
    expect(t.check('new', 1)).toBe(0);
    expect(t.check('new', 2)).toBe(0);
    expect(t.saturated).toBe(true);
    expect(t.tracked).toBe(10_000);
  });

  it('the validator reports the saturation', async () => {
    const r = await validate(fileOf([...validLines(40), ...validLines(5)]), {
      maxTrackedExamples: 40,
    });
    expect(r.stats.duplicateTracking).toEqual({ tracked: 40, saturated: false });
    expect(r.warningCount).toBe(5);
    const capped = await validate(fileOf([...validLines(40), ...validLines(5)]), {
      maxTrackedExamples: 10,
    });
    expect(capped.stats.duplicateTracking).toEqual({ tracked: 10, saturated: true });
    expect(capped.warningCount).toBe(5);
    const off = await validate(fileOf([...validLines(40), ...validLines(5)]), {
      maxTrackedExamples: 0,
    });
    expect(off.warningCount).toBe(0);
    expect(off.stats.duplicateTracking).toEqual({ tracked: 0, saturated: false });
  });
});

describe('LineSplitter', () => {
  it('gives views for in-chunk lines and drops over-long lines while counting their length', () => {
    const s = new LineSplitter(5);
    const out: Line[] = [];
    s.push(Buffer.from('ab\ncdefgh'), out);
    s.push(Buffer.from('ij\r\nk'), out);
    s.end(out);
    expect(out.map((l) => [l.lineNo, l.bytes?.toString() ?? null, l.byteLength])).toEqual([
      [1, 'ab', 2],
      [2, null, 8],
      [3, 'k', 1],
    ]);
  });
});

describe('renderSummary', () => {
  it('states the verdict, counts and findings', async () => {
    const r = await validate(fileOf([...validLines(32), 'oops']), {
      baseModel: 'cohere.command-r-08-2024',
    });
    const text = renderSummary(r);
    expect(text).toMatch(/^INVALID: 32 examples, 1 errors, 0 warnings/);
    expect(text).toContain('line 33: INVALID_JSON');
    expect(text).toContain('utf8-bytes-upper-bound');
    expect(renderSummary(await validate(fileOf(validLines(32))))).toMatch(/^VALID: 32 examples/);
  });
});
