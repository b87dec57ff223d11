import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { validateDataset } from '#shared/dataset/validate.ts';
import type { TokenizerLoader } from '#shared/dataset/tokens.ts';
import {
  chunked,
  codesOf,
  exampleLine,
  fakeClock,
  fileOf,
  reusingBuffer,
  validate,
  validLines,
} from './helpers.ts';

const ok32 = validLines(32);

describe('validateDataset: whole-file codes', () => {
  it('accepts 32 valid lines', async () => {
    const r = await validate(fileOf(ok32));
    expect(r.valid).toBe(true);
    expect(r.exampleCount).toBe(32);
    expect(r.errorCount).toBe(0);
    expect(r.stats.lines).toBe(32);
    expect(r.stats.bytes).toBe(fileOf(ok32).length);
  });

  it('EMPTY_FILE for zero bytes and for a stream with no chunks', async () => {
    expect(codesOf(await validate(Buffer.alloc(0)))).toEqual(['0:EMPTY_FILE']);
    const none = (async function* () {})();
    const r = await validateDataset(none, { now: fakeClock() });
    expect(codesOf(r)).toEqual(['0:EMPTY_FILE']);
    expect(r.valid).toBe(false);
  });

  it.each([
    ['gzip', gzipSync(fileOf(ok32))],
    ['zip', Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4, 5, 6])],
    ['bzip2', Buffer.from('BZh91AY&SY')],
    ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 4])],
    ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0])],
  ])('COMPRESSED_FILE for %s magic, even in 1-byte chunks', async (name, data) => {
    const r = await validate(data, {}, [1]);
    expect(codesOf(r)).toEqual(['0:COMPRESSED_FILE']);
    expect(r.errors[0]!.message).toContain(name);
  });

  it('stops reading at a whole-file error', async () => {
    let pulled = 0;
    async function* source() {
      const gz = gzipSync(fileOf(validLines(5000)));
      for (let i = 0; i < gz.length; i += 16) {
        pulled++;
        yield gz.subarray(i, i + 16);
      }
    }
    const r = await validateDataset(source(), { now: fakeClock() });
    expect(codesOf(r)).toEqual(['0:COMPRESSED_FILE']);
    expect(pulled).toBeLessThan(3);
  });

  it('JSON_ARRAY_FILE for a JSON array, also after leading whitespace', async () => {
    const arr = Buffer.from('\n  \r\n[\n' + ok32.join(',\n') + '\n]\n');
    const r = await validate(arr, {}, [2]);
    expect(codesOf(r)).toEqual(['0:JSON_ARRAY_FILE']);
  });

  it('UTF8_BOM is an error but the lines are still checked', async () => {
    const data = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), fileOf(ok32)]);
    const r = await validate(data, {}, [1, 2]);
    expect(codesOf(r)).toEqual(['0:UTF8_BOM']);
    expect(r.exampleCount).toBe(32);
  });

  it('TOO_FEW_EXAMPLES below the minimum, configurable', async () => {
    const r = await validate(fileOf(validLines(31)));
    expect(codesOf(r)).toEqual(['0:TOO_FEW_EXAMPLES']);
    expect((await validate(fileOf(validLines(3)), { minExamples: 3 })).valid).toBe(true);
    expect((await validate(fileOf(validLines(40)), { minExamples: 41 })).valid).toBe(false);
  });
});

describe('validateDataset: line codes', () => {
  const withLine = (bad: string | Buffer, at = 5): Buffer => {
    const parts: Buffer[] = ok32.map((l) => Buffer.from(l));
    parts.splice(at - 1, 0, typeof bad === 'string' ? Buffer.from(bad) : bad);
    return Buffer.concat(parts.flatMap((p) => [p, Buffer.from('\n')]));
  };

  it('accepts CRLF endings and a missing final newline', async () => {
    for (const [eol, finalNl] of [
      ['\r\n', true],
      ['\r\n', false],
      ['\n', false],
    ] as const) {
      const r = await validate(fileOf(ok32, eol, finalNl), {}, [3, 7]);
      expect(r.valid, `${JSON.stringify(eol)} final=${finalNl}`).toBe(true);
      expect(r.exampleCount).toBe(32);
      expect(r.stats.lines).toBe(32);
    }
  });

  it('INVALID_UTF8 for a bad byte, an overlong form and a surrogate', async () => {
    for (const bad of [
      Buffer.from([0x7b, 0xff, 0x7d]),
      Buffer.concat([
        Buffer.from('{"prompt":"'),
        Buffer.from([0xc0, 0x80]),
        Buffer.from('","completion":"x"}'),
      ]),
      Buffer.concat([
        Buffer.from('{"prompt":"'),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from('","completion":"x"}'),
      ]),
    ]) {
      expect(codesOf(await validate(withLine(bad)))).toEqual(['5:INVALID_UTF8']);
    }
  });

  it('a multi-byte character split across chunks is valid; a broken one split across chunks is not', async () => {
    const text = ok32.slice(0, 31).concat([JSON.stringify({ prompt: 'é€😀', completion: '中文' })]);
    for (let size = 1; size <= 5; size++) {
      expect((await validate(fileOf(text), {}, [size])).valid).toBe(true);
    }
    // C3 starts a 2-byte sequence; the next chunk begins with an ASCII byte instead.
    const broken = Buffer.concat([
      Buffer.from('{"prompt":"a'),
      Buffer.from([0xc3]),
      Buffer.from('b","completion":"c"}'),
    ]);
    const data = withLine(broken, 2);
    const split = data.indexOf(0xc3) + 1;
    const r = await validate(data, {}, [split, 1, 1000]);
    expect(codesOf(r)).toEqual(['2:INVALID_UTF8']);
  });

  it('BLANK_LINE for an empty line, a whitespace line and a trailing blank line', async () => {
    expect(codesOf(await validate(withLine('')))).toEqual(['5:BLANK_LINE']);
    expect(codesOf(await validate(withLine(' \t ')))).toEqual(['5:BLANK_LINE']);
    expect(codesOf(await validate(Buffer.from(ok32.join('\n') + '\n\n')))).toEqual([
      '33:BLANK_LINE',
    ]);
    expect(codesOf(await validate(Buffer.from(ok32.join('\r\n') + '\r\n\r\n')))).toEqual([
      '33:BLANK_LINE',
    ]);
  });

  it('INVALID_JSON for truncated JSON, a raw NUL byte and a trailing comma', async () => {
    for (const bad of [
      '{"prompt":"a","completion":"b"',
      '{"prompt":"a\u0000","completion":"b"}',
      '{"prompt":"a","completion":"b",}',
      "{'prompt':'a','completion':'b'}",
    ]) {
      expect(codesOf(await validate(withLine(bad))), bad).toEqual(['5:INVALID_JSON']);
    }
  });

  it('NOT_AN_OBJECT for arrays, strings, numbers and null', async () => {
    for (const bad of ['["a"]', '"prompt"', '42', 'null', 'true']) {
      expect(codesOf(await validate(withLine(bad))), bad).toEqual(['5:NOT_AN_OBJECT']);
    }
  });

  it('deeply nested JSON is a finding, not a crash', async () => {
    const depth = 100_000;
    const nested = '{"prompt":' + '['.repeat(depth) + ']'.repeat(depth) + ',"completion":"x"}';
    expect(codesOf(await validate(withLine(nested)))).toEqual(['5:WRONG_TYPE']);
    const bare = '['.repeat(depth) + ']'.repeat(depth);
    expect(codesOf(await validate(withLine(bare)))).toEqual(['5:NOT_AN_OBJECT']);
  });

  it('MISSING_FIELD, UNKNOWN_FIELD, WRONG_TYPE and EMPTY_FIELD', async () => {
    expect(codesOf(await validate(withLine('{"prompt":"a"}')))).toEqual(['5:MISSING_FIELD']);
    expect(codesOf(await validate(withLine('{}')))).toEqual(['5:MISSING_FIELD', '5:MISSING_FIELD']);
    expect(codesOf(await validate(withLine('{"prompt":"a","completion":"b","id":1}')))).toEqual([
      '5:UNKNOWN_FIELD',
    ]);
    expect(
      codesOf(await validate(withLine('{"prompt":"a","completion":"b","__proto__":{}}'))),
    ).toEqual(['5:UNKNOWN_FIELD']);
    expect(codesOf(await validate(withLine('{"prompt":1,"completion":2}')))).toEqual([
      '5:WRONG_TYPE',
      '5:WRONG_TYPE',
    ]);
    expect(codesOf(await validate(withLine('{"prompt":null,"completion":["b"]}')))).toEqual([
      '5:WRONG_TYPE',
      '5:WRONG_TYPE',
    ]);
    expect(codesOf(await validate(withLine('{"prompt":"  ","completion":""}')))).toEqual([
      '5:EMPTY_FIELD',
      '5:EMPTY_FIELD',
    ]);
  });

  it('the aqua format allows an optional string category; genai does not', async () => {
    const line = '{"prompt":"a","completion":"b","category":"qa"}';
    expect((await validate(withLine(line), { format: 'aqua' })).valid).toBe(true);
    expect(codesOf(await validate(withLine(line)))).toEqual(['5:UNKNOWN_FIELD']);
    expect(
      codesOf(
        await validate(withLine('{"prompt":"a","completion":"b","category":3}'), {
          format: 'aqua',
        }),
      ),
    ).toEqual(['5:WRONG_TYPE']);
  });

  it('TEMPLATE_MISMATCH for unbalanced llama2 markers (aqua + llama2 only)', async () => {
    const good = (i: number) =>
      JSON.stringify({
        prompt: `[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nQ${i} [/INST]`,
        completion: `A${i}`,
      });
    const lines = Array.from({ length: 34 }, (_, i) => good(i));
    expect((await validate(fileOf(lines), { format: 'aqua', chatTemplate: 'llama2' })).valid).toBe(
      true,
    );
    lines[9] = JSON.stringify({ prompt: '[INST] <<SYS>> sys [/INST]', completion: 'x' });
    lines[19] = JSON.stringify({ prompt: 'no markers', completion: 'x' });
    const r = await validate(fileOf(lines), { format: 'aqua', chatTemplate: 'llama2' });
    expect(codesOf(r)).toEqual(['10:TEMPLATE_MISMATCH', '20:TEMPLATE_MISMATCH']);
    expect((await validate(fileOf(lines), { format: 'aqua' })).valid).toBe(true);
  });

  it('LINE_TOO_LONG over maxLineBytes; the following lines keep their numbers', async () => {
    const long = JSON.stringify({ prompt: 'x'.repeat(200), completion: 'y' });
    const r = await validate(withLine(long, 3), { maxLineBytes: 100 }, [7, 13]);
    expect(codesOf(r)).toEqual(['3:LINE_TOO_LONG']);
    expect(r.exampleCount).toBe(32);
    expect(r.stats.lines).toBe(33);
    expect(r.errors[0]!.message).toContain(`${long.length} bytes`);
  });

  it('a 100 MB line streamed lazily is LINE_TOO_LONG and does not stop validation', async () => {
    const block = Buffer.alloc(1024 * 1024, 0x61);
    async function* source() {
      yield Buffer.from(ok32.slice(0, 10).join('\n') + '\n{"prompt":"');
      for (let i = 0; i < 100; i++) yield block;
      yield Buffer.from('","completion":"b"}\r\n' + ok32.slice(10).join('\n'));
    }
    const r = await validateDataset(source(), { now: fakeClock() });
    expect(codesOf(r)).toEqual(['11:LINE_TOO_LONG']);
    expect(r.exampleCount).toBe(32);
    expect(r.stats.lines).toBe(33);
    expect(r.errors[0]!.message).toContain(`${100 * 1024 * 1024 + 11 + 19} bytes`);
  });

  it('DUPLICATE_EXAMPLE is a warning naming the first line; the dataset stays valid', async () => {
    const reordered = JSON.stringify({
      completion: 'Answer number 7.',
      prompt: 'Question number 7?',
    });
    const lines = [...ok32, ok32[3]!, reordered, ok32[9]!];
    const r = await validate(fileOf(lines, '\r\n'), {}, [5]);
    expect(r.valid).toBe(true);
    // Duplicates are byte-identical lines (docs/validation.md): the reordered object is not one.
    expect(codesOf(r)).toEqual(['33:DUPLICATE_EXAMPLE', '35:DUPLICATE_EXAMPLE']);
    expect(r.warnings[0]!.message).toContain('line 4');
    expect(r.warnings[1]!.message).toContain('line 10');
    expect(r.warningCounts).toEqual({ DUPLICATE_EXAMPLE: 2 });
  });

  it('the errors list is capped while the counts stay complete', async () => {
    const lines = [...ok32, ...Array.from({ length: 250 }, (_, i) => (i % 2 ? 'x' : '[1]'))];
    const r = await validate(fileOf(lines), { maxFindings: 10 });
    expect(r.errors).toHaveLength(10);
    expect(r.errorCount).toBe(250);
    expect(r.errorCounts).toEqual({ INVALID_JSON: 125, NOT_AN_OBJECT: 125 });
    expect(r.errors[0]!.line).toBe(33);
  });

  it('messages never quote more than a few characters of dataset text', async () => {
    const secret = 'TOPSECRET'.repeat(10);
    const lines = [...ok32, `{"${secret}":"${secret}"}`, `{"prompt": "${secret}`, `"${secret}"`];
    const r = await validate(fileOf(lines));
    expect(r.errorCount).toBeGreaterThan(2);
    for (const f of r.errors) expect(f.message).not.toContain('TOPSECRETTOPSECRET');
  });
});

describe('validateDataset: token limits', () => {
  const bigPrompt = (bytes: number) =>
    JSON.stringify({ prompt: 'word '.repeat(bytes / 5), completion: 'ok' });

  it('Cohere: within the limit in bytes is proven; over it gives TOKEN_LIMIT_UNVERIFIED, not an error', async () => {
    const lines = [...ok32, bigPrompt(15_000), bigPrompt(20_000)];
    const r = await validate(fileOf(lines), { baseModel: 'cohere.command-r-08-2024' });
    expect(r.valid).toBe(true);
    expect(codesOf(r)).toEqual(['34:TOKEN_LIMIT_UNVERIFIED']);
    expect(r.tokenCounting.limitCheck).toBe('utf8-bytes-upper-bound');
    expect(r.tokenCounting.limits.maxPromptTokens).toBe(16_000);
    expect(r.exampleCount).toBe(34);
  });

  it('Llama: tokenizes only lines over a limit in bytes and reports TOO_MANY_TOKENS on exact counts', async () => {
    const asked: string[] = [];
    // A fake tokenizer: one token per word.
    const loader: TokenizerLoader = async (method) => {
      asked.push(method);
      return (text) => text.split(' ').filter(Boolean).length;
    };
    const limits = {
      m: { maxTotalTokens: 1000, counting: 'llama3-tokenizer' as const, source: 'test' },
    };
    const lines = [...ok32, bigPrompt(900), bigPrompt(4000), bigPrompt(6000)];
    const r = await validate(fileOf(lines), {
      baseModel: 'm',
      tokenLimits: limits,
      tokenizerLoader: loader,
    });
    // 4000 bytes = 800 words: within; 6000 bytes = 1200 words: over.
    expect(codesOf(r)).toEqual(['35:TOO_MANY_TOKENS']);
    expect(r.tokenCounting.tokenizedLines).toBe(2);
    expect(asked).toEqual(['llama3-tokenizer', 'llama3-tokenizer']);
    expect(r.exampleCount).toBe(34);
  });

  it('falls back to the byte bound, and says so, when the tokenizer cannot be loaded', async () => {
    const limits = {
      m: { maxTotalTokens: 100, counting: 'llama3-tokenizer' as const, source: 't' },
    };
    const r = await validate(fileOf([...ok32, bigPrompt(1000)]), {
      baseModel: 'm',
      tokenLimits: limits,
      tokenizerLoader: async () => undefined,
    });
    expect(codesOf(r)).toEqual(['33:TOKEN_LIMIT_UNVERIFIED']);
    expect(r.tokenCounting.limitCheck).toBe('utf8-bytes-upper-bound');
    expect(r.tokenCounting.tokenizedLines).toBe(0);
  });

  it('no tokenizer is loaded when every line is within the limits in bytes', async () => {
    let loads = 0;
    const loader: TokenizerLoader = async () => {
      loads++;
      return () => 0;
    };
    const r = await validate(fileOf(ok32), {
      baseModel: 'meta.llama-3.3-70b-instruct',
      tokenizerLoader: loader,
    });
    expect(r.valid).toBe(true);
    expect(loads).toBe(0);
    expect(r.tokenCounting.limitCheck).toBe('llama3-tokenizer');
  });

  it('the real Llama 3 tokenizer counts exactly', async () => {
    const limits = {
      m: { maxPromptTokens: 10, counting: 'llama3-tokenizer' as const, source: 'test' },
    };
    // "hello world" is 2 tokens; 12 repetitions: 13 bytes each, 24 tokens.
    const lines = [
      ...ok32,
      JSON.stringify({ prompt: 'hello world ', completion: 'x' }),
      JSON.stringify({ prompt: 'hello world '.repeat(12).trim(), completion: 'x' }),
    ];
    const r = await validate(fileOf(lines), { baseModel: 'm', tokenLimits: limits });
    expect(codesOf(r)).toEqual(['34:TOO_MANY_TOKENS']);
    expect(r.errors[0]!.message).toContain('has 24 tokens');
  });

  it('unknown base models have no limits', async () => {
    const r = await validate(fileOf([...ok32, bigPrompt(300_000)]), { baseModel: 'my-model' });
    expect(r.valid).toBe(true);
    expect(r.tokenCounting.limitCheck).toBe('none');
  });
});

describe('validateDataset: report details', () => {
  it('reports progress, duration by the given clock, stats and accepts plain Uint8Array chunks', async () => {
    // Prompts of 4..400 bytes: 1..100 estimated tokens.
    const data = fileOf(
      Array.from({ length: 100 }, (_, i) =>
        JSON.stringify({ prompt: 'abcd'.repeat(i + 1), completion: 'c' + i }),
      ),
    );
    const seen: number[] = [];
    async function* source() {
      for (let i = 0; i < data.length; i += 1000) yield new Uint8Array(data.subarray(i, i + 1000));
    }
    let t = 1000;
    const r = await validateDataset(
      source(),
      { now: () => (t += 250) },
      { onProgress: (b) => seen.push(b) },
    );
    expect(r.valid).toBe(true);
    expect(r.durationMs).toBe(250);
    expect(seen.at(-1)).toBe(data.length);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(r.stats.promptTokens.min).toBe(1);
    expect(r.stats.promptTokens.max).toBe(100);
    expect(Math.abs(r.stats.promptTokens.p50 - 50)).toBeLessThanOrEqual(1);
    expect(Math.abs(r.stats.promptTokens.p95 - 95)).toBeLessThanOrEqual(2);
    expect(r.stats.completionTokens.max).toBe(1);
    // 5050 prompt tokens + 100 completion tokens.
    expect(r.stats.estimatedTrainingTokens).toBe(5150);
  });

  it('a line split at every possible chunk boundary gives the same report', async () => {
    const lines = [exampleLine(1), '{"prompt":1}', 'bad', '', ...validLines(32, 10)];
    const data = fileOf(lines, '\r\n');
    const expected = codesOf(await validate(data));
    for (let size = 1; size <= 9; size++) {
      expect(codesOf(await validate(data, {}, [size]))).toEqual(expected);
    }
    expect(expected).toEqual(['2:WRONG_TYPE', '2:MISSING_FIELD', '3:INVALID_JSON', '4:BLANK_LINE']);
  });

  it('a source that reuses one buffer for every chunk gives the same report', async () => {
    const lines = [
      'bad',
      ...validLines(32, 100),
      JSON.stringify({ prompt: 'x'.repeat(300), completion: 'y' }),
      validLines(1, 100)[0]!,
      '{"prompt":"é€😀","completion":"中文"}',
    ];
    const data = fileOf(lines, '\r\n', false);
    const expected = codesOf(await validate(data, { maxLineBytes: 200 }));
    expect(expected).toEqual(['1:INVALID_JSON', '34:LINE_TOO_LONG', '35:DUPLICATE_EXAMPLE']);
    for (const size of [1, 3, 5, 64, 1000]) {
      const r = await validate(reusingBuffer(data, size), { maxLineBytes: 200 });
      expect(codesOf(r), `chunk ${size}`).toEqual(expected);
      expect(r.exampleCount).toBe(34);
    }
  });

  it('chunked helper really splits', async () => {
    const parts: number[] = [];
    for await (const c of chunked(Buffer.alloc(10), [3])) parts.push(c.length);
    expect(parts).toEqual([3, 3, 3, 1]);
  });
});
