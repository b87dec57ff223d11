import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validate } from './helpers.ts';

// Deterministic: a fixed seed, a bounded number of runs.
const params = { seed: 20261121, numRuns: 60 };

const text = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
  .filter((s) => s.trim() !== '');
const example = fc.record({ prompt: text, completion: text });
const dataset = fc.array(example, { minLength: 1, maxLength: 50 });
const chunking = fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 8 });
const layout = fc.record({ crlf: fc.boolean(), finalNewline: fc.boolean() });

function render(lines: string[], l: { crlf: boolean; finalNewline: boolean }): Buffer {
  const eol = l.crlf ? '\r\n' : '\n';
  return Buffer.from(lines.join(eol) + (l.finalNewline ? eol : ''), 'utf8');
}

type Corruption = { name: string; code: string; apply: (line: string) => Buffer };
const corruptions: Corruption[] = [
  { name: 'truncate', code: 'INVALID_JSON', apply: (l) => Buffer.from(l.slice(0, -1)) },
  { name: 'blank', code: 'BLANK_LINE', apply: () => Buffer.alloc(0) },
  { name: 'array', code: 'NOT_AN_OBJECT', apply: (l) => Buffer.from(`[${l}]`) },
  { name: 'number', code: 'WRONG_TYPE', apply: () => Buffer.from('{"prompt":1,"completion":"x"}') },
  { name: 'missing', code: 'MISSING_FIELD', apply: () => Buffer.from('{"prompt":"x"}') },
  { name: 'extra', code: 'UNKNOWN_FIELD', apply: (l) => Buffer.from(l.replace(/}$/, ',"x":"y"}')) },
  {
    name: 'empty',
    code: 'EMPTY_FIELD',
    apply: () => Buffer.from('{"prompt":"x","completion":" "}'),
  },
  {
    name: 'bad utf-8',
    code: 'INVALID_UTF8',
    apply: (l) =>
      Buffer.concat([Buffer.from(l.slice(0, -1)), Buffer.from([0xe2, 0x82]), Buffer.from('}')]),
  },
];

describe('properties', () => {
  it('any valid dataset validates, with any chunking and line endings', async () => {
    await fc.assert(
      fc.asyncProperty(dataset, chunking, layout, async (examples, sizes, l) => {
        const data = render(
          examples.map((e) => JSON.stringify(e)),
          l,
        );
        const r = await validate(data, { minExamples: 1 }, sizes);
        expect(r.errors).toEqual([]);
        expect(r.exampleCount).toBe(examples.length);
        expect(r.stats.bytes).toBe(data.length);
      }),
      params,
    );
  });

  it('any single corruption is reported on its line and only there', async () => {
    await fc.assert(
      fc.asyncProperty(
        dataset,
        chunking,
        layout,
        fc.nat(),
        fc.constantFrom(...corruptions),
        async (examples, sizes, l, at, corruption) => {
          const lines = examples.map((e) => JSON.stringify(e));
          const k = at % lines.length;
          const parts: Buffer[] = lines.map((s) => Buffer.from(s));
          parts[k] = corruption.apply(lines[k]!);
          // A blank last line without a final newline is no line at all.
          fc.pre(!(corruption.name === 'blank' && k === lines.length - 1 && !l.finalNewline));
          // A file whose first line starts with `[` is a JSON array file (a whole-file error).
          fc.pre(!(corruption.name === 'array' && k === 0));
          const eol = Buffer.from(l.crlf ? '\r\n' : '\n');
          const data = Buffer.concat([
            ...parts.flatMap((p, i) => (i < parts.length - 1 || l.finalNewline ? [p, eol] : [p])),
          ]);
          const r = await validate(data, { minExamples: 1 }, sizes);
          const lineErrors = r.errors.filter((f) => f.line !== 0);
          expect(lineErrors.map((f) => `${f.line}:${f.code}`)).toEqual([
            `${k + 1}:${corruption.code}`,
          ]);
          expect(r.exampleCount).toBe(lines.length - 1);
        },
      ),
      params,
    );
  });
});
