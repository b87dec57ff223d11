// The validator's fast paths must decide exactly as the plain definitions: INVALID_UTF8 exactly
// when the bytes are not UTF-8, and duplicates exactly for byte-identical lines (XXH64 fingerprints).
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DuplicateTracker } from '#shared/dataset/dedup.ts';
import { codesOf, fileOf, validate, validLines } from './helpers.ts';

const params = { seed: 20261121, numRuns: 100 };

describe('UTF-8 checks', () => {
  it('flags INVALID_UTF8 exactly when isUtf8 rejects the line', async () => {
    // Bytes without LF; a JSON string around them so valid UTF-8 also passes JSON.parse unless it
    // holds a quote, a backslash or a control character.
    // Pieces: any byte but LF, a whole character, or a lead byte with two continuation bytes
    // (overlong forms, surrogates, values past U+10FFFF, truncated sequences).
    const piece = fc.oneof(
      fc.integer({ min: 0, max: 255 }).map((b) => [b === 10 ? 0x41 : b]),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).map((c) => [...Buffer.from(c)]),
      fc.tuple(
        fc.integer({ min: 0xc0, max: 0xf7 }),
        fc.integer({ min: 0x80, max: 0xbf }),
        fc.integer({ min: 0x80, max: 0xbf }),
      ),
    );
    const raw = fc.array(piece, { minLength: 1, maxLength: 8 }).map((ps) => Buffer.from(ps.flat()));
    await fc.assert(
      fc.asyncProperty(raw, async (bytes) => {
        const line = Buffer.concat([
          Buffer.from('{"prompt":"'),
          bytes,
          Buffer.from('","completion":"x"}'),
        ]);
        const r = await validate(Buffer.concat([line, Buffer.from('\n')]), { minExamples: 0 });
        expect(r.errorCounts.INVALID_UTF8 === 1).toBe(!isUtf8(line));
      }),
      params,
    );
  });

  it('a U+FEFF starting a later line is INVALID_JSON, not a BOM; inside a string it is text', async () => {
    const lines = validLines(33);
    lines[4] = '\uFEFF' + lines[4]!;
    lines[6] = JSON.stringify({ prompt: '\uFEFFzero width', completion: 'kept' });
    const r = await validate(fileOf(lines));
    expect(codesOf(r)).toEqual(['5:INVALID_JSON']);
    expect(r.exampleCount).toBe(32);
  });
});

describe('DuplicateTracker fingerprints (XXH64)', () => {
  it('a string key and its UTF-8 bytes are the same example', () => {
    const t = new DuplicateTracker();
    const text = JSON.stringify({ prompt: 'währung €uro 利率 😀', completion: 'x' });
    expect(t.check(text, 1)).toBe(0);
    expect(t.check(Buffer.from(text, 'utf8'), 2)).toBe(1);
    // A view at an odd offset inside a larger buffer hashes only its own bytes.
    const framed = Buffer.concat([Buffer.from('xyz'), Buffer.from(text), Buffer.from('\n')]);
    expect(t.check(framed.subarray(3, framed.length - 1), 3)).toBe(1);
    expect(t.tracked).toBe(1);
  });

  it('lines one byte apart at any position are different examples', () => {
    const t = new DuplicateTracker();
    const base = Buffer.from(validLines(1)[0]!.repeat(3));
    expect(t.check(base, 1)).toBe(0);
    for (let i = 0; i < base.length; i++) {
      const flipped = Buffer.from(base);
      flipped[i] = flipped[i]! ^ 1;
      expect(t.check(flipped, i + 2), `byte ${i}`).toBe(0);
    }
    expect(t.check(base.subarray(0, base.length - 1), 99_999)).toBe(0);
    expect(t.tracked).toBe(base.length + 2);
  });

  it('100,000 distinct lines give no false duplicate, and each repeat names its first line', () => {
    const t = new DuplicateTracker();
    const lines = validLines(100_000).map((l) => Buffer.from(l));
    const firstSeen = lines.map((l, i) => t.check(l, i + 1));
    expect(firstSeen.filter((x) => x !== 0)).toEqual([]);
    for (let i = 0; i < lines.length; i += 9_973) {
      expect(t.check(lines[i]!, 300_000)).toBe(i + 1);
    }
  });
});
