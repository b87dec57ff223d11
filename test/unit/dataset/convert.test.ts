import { describe, expect, it } from 'vitest';
import { convertDataset, convertRecord, type ConvertOptions } from '#shared/dataset/convert.ts';
import { llama2TemplateProblem } from '#shared/dataset/rules.ts';
import { chunked, reusingBuffer, validate } from './helpers.ts';

async function run(input: string | Buffer, options: ConvertOptions, sizes?: number[]) {
  let out = '';
  const report = await convertDataset(
    chunked(Buffer.from(input), sizes),
    (t) => void (out += t),
    options,
  );
  const lines = out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { prompt: string; completion: string });
  return { report, lines, out };
}

const alpaca = [
  { instruction: 'Summarise', input: 'Text here', output: 'Summary' },
  { instruction: 'Say hi', input: '', output: 'Hi' },
  { instruction: 'No output' },
];

describe('convertRecord', () => {
  it('alpaca: instruction + input -> prompt, output -> completion', () => {
    expect(convertRecord(alpaca[0], { from: 'alpaca' })).toEqual({
      ok: true,
      prompt: 'Summarise\n\nText here',
      completion: 'Summary',
      from: 'alpaca',
    });
    expect(convertRecord(alpaca[1], { from: 'alpaca' })).toMatchObject({ prompt: 'Say hi' });
    expect(convertRecord(alpaca[2], { from: 'alpaca' })).toEqual({
      ok: false,
      reason: 'MISSING_FIELD',
    });
    expect(convertRecord({ instruction: 3, output: 'x' }, { from: 'alpaca' })).toEqual({
      ok: false,
      reason: 'WRONG_TYPE',
    });
  });

  it('openai-chat: the last assistant message is the completion, system first', () => {
    const rec = {
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Q1' },
        { role: 'assistant', content: 'A1' },
        { role: 'user', content: [{ type: 'text', text: 'Q2' }] },
        { role: 'assistant', content: 'A2' },
      ],
    };
    expect(convertRecord(rec, { from: 'openai-chat' })).toEqual({
      ok: true,
      prompt: 'Be brief.\n\nUser: Q1\n\nAssistant: A1\n\nUser: Q2',
      completion: 'A2',
      from: 'openai-chat',
    });
    const single = {
      messages: [
        { role: 'user', content: 'Q' },
        { role: 'assistant', content: 'A' },
      ],
    };
    expect(convertRecord(single, { from: 'openai-chat' })).toMatchObject({
      prompt: 'Q',
      completion: 'A',
    });
    expect(convertRecord(single, { from: 'openai-chat', system: 'S' })).toMatchObject({
      prompt: 'S\n\nQ',
    });
    expect(
      convertRecord({ messages: [{ role: 'user', content: 'Q' }] }, { from: 'openai-chat' }),
    ).toEqual({ ok: false, reason: 'NO_ASSISTANT_TURN' });
    expect(
      convertRecord({ messages: [{ role: 'assistant', content: 'A' }] }, { from: 'openai-chat' }),
    ).toEqual({ ok: false, reason: 'NO_USER_TURN' });
    expect(
      convertRecord({ messages: [{ role: 'tool', content: 'x' }] }, { from: 'openai-chat' }),
    ).toEqual({ ok: false, reason: 'UNSUPPORTED_CONTENT' });
    expect(
      convertRecord(
        { messages: [{ role: 'user', content: [{ type: 'image_url' }] }] },
        { from: 'openai-chat' },
      ),
    ).toEqual({ ok: false, reason: 'UNSUPPORTED_CONTENT' });
  });

  it('sharegpt with the llama2 template gives prompts the validator accepts', () => {
    const rec = {
      conversations: [
        { from: 'system', value: 'Sys' },
        { from: 'human', value: 'Q1' },
        { from: 'gpt', value: 'A1' },
        { from: 'human', value: 'Q2' },
        { from: 'gpt', value: 'A2' },
      ],
    };
    const r = convertRecord(rec, { from: 'sharegpt', template: 'llama2' });
    expect(r).toEqual({
      ok: true,
      prompt: '[INST] <<SYS>>\nSys\n<</SYS>>\n\nQ1 [/INST] A1 </s><s>[INST] Q2 [/INST]',
      completion: 'A2',
      from: 'sharegpt',
    });
    expect(r.ok && llama2TemplateProblem(r.prompt)).toBeUndefined();
  });

  it('auto decides per record', () => {
    expect(convertRecord(alpaca[0], { from: 'auto' })).toMatchObject({ from: 'alpaca' });
    expect(convertRecord({ conversations: [] }, { from: 'auto' })).toMatchObject({
      ok: false,
      reason: 'NO_ASSISTANT_TURN',
    });
    expect(convertRecord({ text: 'x' }, { from: 'auto' })).toEqual({
      ok: false,
      reason: 'UNRECOGNIZED_FORMAT',
    });
    expect(convertRecord([1], { from: 'auto' })).toEqual({ ok: false, reason: 'NOT_AN_OBJECT' });
  });
});

describe('convertDataset', () => {
  it('converts JSONL and counts drops by reason with record numbers', async () => {
    const input = [...alpaca.map((a) => JSON.stringify(a)), '', 'not json', '[1]'].join('\n');
    const { report, lines } = await run(input, { from: 'alpaca' }, [5]);
    expect(lines).toEqual([
      { prompt: 'Summarise\n\nText here', completion: 'Summary' },
      { prompt: 'Say hi', completion: 'Hi' },
    ]);
    expect(report).toMatchObject({
      inputShape: 'jsonl',
      records: 5,
      converted: 2,
      dropped: 3,
      droppedByReason: { MISSING_FIELD: 1, INVALID_JSON: 1, NOT_AN_OBJECT: 1 },
      drops: [
        { record: 3, reason: 'MISSING_FIELD' },
        { record: 5, reason: 'INVALID_JSON' },
        { record: 6, reason: 'NOT_AN_OBJECT' },
      ],
    });
  });

  it('streams a JSON array in any chunking, with brackets and commas inside strings', async () => {
    const records = [
      { instruction: 'a [b], {c}', input: 'quote \\" and ,', output: ']' },
      { instruction: 'x', output: 'y', extra: { nested: [1, { a: ']' }] } },
    ];
    const input = ' \n[\n' + records.map((r) => JSON.stringify(r)).join(' ,\n') + '\n]\n';
    for (const size of [1, 2, 3, 7, 1000]) {
      const { report, lines } = await run(input, { from: 'alpaca' }, [size]);
      expect(report.inputShape).toBe('json-array');
      expect(report.converted).toBe(2);
      expect(lines[0]!.completion).toBe(']');
      expect(lines[0]!.prompt).toBe('a [b], {c}\n\nquote \\" and ,');
    }
    expect((await run('[]', { from: 'alpaca' })).report).toMatchObject({
      records: 0,
      converted: 0,
    });
  });

  it('a source that reuses one buffer gives the same output', async () => {
    const input = Buffer.from(
      '[' +
        Array.from({ length: 20 }, (_, i) =>
          JSON.stringify({ instruction: `I${i} ${'z'.repeat(i * 7)}`, output: `O${i}` }),
        ).join(',') +
        ']',
    );
    const expected = (await run(input, { from: 'alpaca' })).out;
    for (const size of [1, 4, 33]) {
      let out = '';
      await convertDataset(reusingBuffer(input, size), (t) => void (out += t), { from: 'alpaca' });
      expect(out).toBe(expected);
    }
    expect(expected.split('\n').filter(Boolean)).toHaveLength(20);
  });

  it('rejects a truncated array, trailing garbage and compressed input', async () => {
    await expect(run('[{"instruction":"a","output":"b"}', { from: 'alpaca' })).rejects.toThrow(
      /closing bracket/,
    );
    await expect(run('[] x', { from: 'alpaca' })).rejects.toThrow(/well-formed/);
    await expect(
      run(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), { from: 'alpaca' }),
    ).rejects.toThrow(/gzip/);
    await expect(run('{}', { from: 'alpaca', template: 'llama2' })).rejects.toThrow(/aqua/);
  });

  it('drops records over maxRecordBytes without holding them', async () => {
    const big = JSON.stringify({ instruction: 'x'.repeat(5000), output: 'y' });
    const input = [big, JSON.stringify(alpaca[0])].join('\n');
    const { report } = await run(input, { from: 'alpaca', maxRecordBytes: 1000 }, [100]);
    expect(report).toMatchObject({ converted: 1, droppedByReason: { RECORD_TOO_LARGE: 1 } });
    const arr = `[${big},${JSON.stringify(alpaca[0])}]`;
    expect((await run(arr, { from: 'alpaca', maxRecordBytes: 1000 }, [100])).report).toMatchObject({
      converted: 1,
      droppedByReason: { RECORD_TOO_LARGE: 1 },
    });
  });

  it('output of a conversion validates', async () => {
    const input = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({
        messages: [
          { role: 'user', content: `Q${i}` },
          { role: 'assistant', content: `A${i}` },
        ],
      }),
    ).join('\n');
    const { out, report } = await run(input, {
      from: 'openai-chat',
      format: 'aqua',
      template: 'llama2',
      system: 'Sys',
    });
    expect(report.converted).toBe(40);
    const r = await validate(Buffer.from(out), { format: 'aqua', chatTemplate: 'llama2' });
    expect(r.valid).toBe(true);
    expect(r.exampleCount).toBe(40);
  });
});
