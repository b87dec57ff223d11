import { describe, expect, it } from 'vitest';
import { TraceError } from '#shared/scaling/errors.ts';
import {
  formatTraceCsv,
  generateTrace,
  parseTraceCsv,
  seededRandom,
  shippedTraces,
} from '#shared/scaling/trace.ts';

function lineOf(text: string): unknown {
  try {
    parseTraceCsv(text);
  } catch (e) {
    expect(e).toBeInstanceOf(TraceError);
    return { line: (e as TraceError).context.line, message: (e as Error).message };
  }
  throw new Error('expected a TraceError');
}

describe('parseTraceCsv', () => {
  it('parses rows, CRLF and a trailing newline', () => {
    expect(parseTraceCsv('minute,tokens_per_second\r\n0,10\r\n1,12.5\r\n')).toEqual([
      { minute: 0, tokensPerSecond: 10 },
      { minute: 1, tokensPerSecond: 12.5 },
    ]);
  });

  it('names the line of each problem', () => {
    expect(lineOf('minute,tps\n0,1\n')).toMatchObject({ line: 1 });
    expect(lineOf('minute,tokens_per_second\n0,1\n1,2,3\n')).toMatchObject({
      line: 3,
      message: /expected 2 fields/,
    });
    expect(lineOf('minute,tokens_per_second\n0,1\nx,2\n')).toMatchObject({
      line: 3,
      message: /not an integer/,
    });
    expect(lineOf('minute,tokens_per_second\n0,1\n1,-4\n')).toMatchObject({
      line: 3,
      message: /non-negative/,
    });
    expect(lineOf('minute,tokens_per_second\n0,1\n1,\n')).toMatchObject({ line: 3 });
    expect(lineOf('minute,tokens_per_second\n0,1\n2,1\n')).toMatchObject({
      line: 3,
      message: /does not follow 0/,
    });
    expect(lineOf('minute,tokens_per_second\n')).toMatchObject({ message: /no data rows/ });
    expect(lineOf('')).toMatchObject({ line: 1 });
  });

  it('round-trips the generator through CSV', () => {
    for (const name of shippedTraces) {
      const t = generateTrace(name, 3);
      expect(parseTraceCsv(formatTraceCsv(t))).toEqual(t);
      expect(t.every((r) => Number.isInteger(r.tokensPerSecond) && r.tokensPerSecond >= 0)).toBe(
        true,
      );
    }
  });

  it('has a reproducible seeded random source', () => {
    const a = seededRandom(1);
    const b = seededRandom(1);
    const xs = Array.from({ length: 5 }, () => a());
    expect(xs).toEqual(Array.from({ length: 5 }, () => b()));
    expect(new Set(xs).size).toBe(5);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(generateTrace('noisy-flat', 1)).not.toEqual(generateTrace('noisy-flat', 2));
  });
});
