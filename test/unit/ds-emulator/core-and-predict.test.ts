import { fc, test } from '@fast-check/vitest';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  applySteps,
  failureFor,
  launchArg,
  outputModelIdOf,
  splitCommandLine,
  workRequestView,
  type Stepped,
} from '#local/emulator/datascience-core.ts';
import {
  cannedReply,
  countTokens,
  predict,
  type PredictInput,
} from '#local/emulator/datascience-predict.ts';

const rule = { failMarker: 'FAIL_TRAINING', failJobRunDisplayNames: [], failJobIds: [] };

describe('AQUA launch command and arguments', () => {
  it('splits quoted words and reads --flag value and --flag=value', () => {
    expect(splitCommandLine(`--a 1 --b "x y" --c='z w' ''`)).toEqual([
      '--a',
      '1',
      '--b',
      'x y',
      '--c=z w',
      '',
    ]);
    const cmd = '--training_data oci://b@ns/t.jsonl --output_dir=oci://r@ns/out --num_epochs 3';
    expect(launchArg(cmd, 'training_data')).toBe('oci://b@ns/t.jsonl');
    expect(launchArg(cmd, 'output_dir')).toBe('oci://r@ns/out');
    expect(launchArg(cmd, 'val_set_size')).toBeUndefined();
  });

  test.prop([fc.array(fc.stringMatching(/^[A-Za-z0-9@:/._-]+$/), { minLength: 1, maxLength: 8 })])(
    'round-trips plain words',
    (words) => {
      expect(splitCommandLine(words.join('  '))).toEqual(words);
    },
  );

  it('reads the output model from AIP_SMC_FT_ARGUMENTS and ignores bad JSON', () => {
    const args = JSON.stringify({ outputModel: { type: 'modelCatalog', modelId: 'ocid1.m' } });
    expect(outputModelIdOf({ AIP_SMC_FT_ARGUMENTS: args })).toBe('ocid1.m');
    expect(outputModelIdOf({ AIP_SMC_FT_ARGUMENTS: '{not json' })).toBeUndefined();
    expect(outputModelIdOf({ AIP_SMC_FT_ARGUMENTS: '{"outputModel":{}}' })).toBeUndefined();
    expect(outputModelIdOf({})).toBeUndefined();
  });

  it('fails on the marker in the training data path only', () => {
    const facts = (cmd: string) => ({
      displayName: 'r',
      jobId: 'j',
      env: { OCI__LAUNCH_CMD: cmd },
    });
    expect(failureFor(facts('--training_data oci://b@ns/FAIL_TRAINING.jsonl'), rule)).toContain(
      'FAIL_TRAINING',
    );
    expect(
      failureFor(facts('--output_dir oci://b@ns/FAIL_TRAINING --training_data ok'), rule),
    ).toBeUndefined();
    expect(
      failureFor(facts('--training_data oci://b@ns/FAIL_TRAINING.jsonl'), {
        ...rule,
        failMarker: null,
      }),
    ).toBeUndefined();
    // commandLineArguments count as well as the environment variable.
    expect(
      failureFor(
        {
          displayName: 'r',
          jobId: 'j',
          env: {},
          commandLineArguments: '--training_data x/FAIL_TRAINING',
        },
        rule,
      ),
    ).toBeDefined();
  });
});

describe('steps and work requests', () => {
  it('applies every due step in order and leaves the rest', () => {
    interface R extends Stepped<R> {
      n?: number;
    }
    const r: R = {
      id: 'x',
      lifecycleState: 'A',
      steps: [
        { atMs: 10, patch: { lifecycleState: 'B', n: 1 } },
        { atMs: 20, patch: { lifecycleState: 'C' } },
        { atMs: 30, patch: { lifecycleState: 'D', n: 3 } },
      ],
    };
    expect(applySteps(r, 5)).toBe(false);
    expect(applySteps(r, 25)).toBe(true);
    expect(r).toMatchObject({ lifecycleState: 'C', n: 1 });
    expect(r.steps).toHaveLength(1);
    expect(applySteps(r, 30)).toBe(true);
    expect(r).toEqual({ id: 'x', lifecycleState: 'D', n: 3 });
  });

  it('reports a failed work request with the resource RELATED', () => {
    const wr = {
      id: 'wr',
      operationType: 'MODEL_DEPLOYMENT_CREATE',
      compartmentId: 'c',
      entityType: 'modelDeployment' as const,
      entityId: 'md',
      action: 'CREATED' as const,
      acceptedMs: 0,
      startMs: 100,
      finishMs: 1_000,
    };
    expect(workRequestView(wr, 50, undefined)).toMatchObject({
      status: 'ACCEPTED',
      percentComplete: 0,
    });
    expect(workRequestView(wr, 1_000, { code: 'X', message: 'm' })).toMatchObject({
      status: 'FAILED',
      resources: [{ actionType: 'RELATED' }],
      timeFinished: new Date(1_000).toISOString(),
    });
  });
});

describe('canned replies', () => {
  test.prop([
    fc.string({ maxLength: 200 }),
    fc.option(fc.integer({ min: 1, max: 80 }), { nil: undefined }),
  ])('never exceed max_tokens and say length exactly when cut', (prompt, maxTokens) => {
    const r = cannedReply(prompt, maxTokens);
    const text = r.pieces.join('');
    expect(r.completionTokens).toBe(r.pieces.length);
    expect(countTokens(text)).toBe(r.completionTokens);
    if (maxTokens !== undefined) expect(r.completionTokens).toBeLessThanOrEqual(maxTokens);
    const full = cannedReply(prompt, undefined);
    expect(r.finishReason === 'length').toBe(full.completionTokens > r.completionTokens);
    expect(cannedReply(prompt, maxTokens)).toEqual(r);
  });
});

describe('predict', () => {
  const input = (body: unknown, over: Partial<PredictInput> = {}): PredictInput => ({
    deploymentId: 'md',
    enableStreaming: false,
    servedModelName: 'odsc-llm',
    nowMs: Date.UTC(2026, 0, 1),
    body,
    ...over,
  });

  it('answers completions with the OpenAI shape and usage', () => {
    const out = predict(input({ model: 'odsc-llm', prompt: 'hello there', max_tokens: 3 }));
    expect(out.response.status).toBe(200);
    expect(out.response.body).toMatchObject({
      object: 'text_completion',
      created: Date.UTC(2026, 0, 1) / 1000,
      choices: [{ index: 0, text: 'Emulated reply to:', finish_reason: 'length' }],
      usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 },
    });
    expect(out.usage).toEqual({ promptTokens: 2, completionTokens: 3, streaming: false });
  });

  it('defaults completions to 16 tokens like vLLM', () => {
    const long = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
    expect(predict(input({ prompt: long })).usage?.completionTokens).toBe(16);
  });

  it('picks the route from the header, then the container default, then the body', () => {
    const chat = { messages: [{ role: 'user', content: 'hi' }] };
    expect((predict(input(chat)).response.body as { object: string }).object).toBe(
      'chat.completion',
    );
    const viaDefault = predict(input(chat, { defaultRoute: '/v1/completions' }));
    expect(viaDefault.response.status).toBe(400);
    const viaHeader = predict(
      input(chat, { defaultRoute: '/v1/completions', routeHeader: '/v1/chat/completions' }),
    );
    expect(viaHeader.response.status).toBe(200);
    expect(predict(input(chat, { routeHeader: '/v1/embeddings' })).response.status).toBe(404);
  });

  it('refuses another model name and bad bodies in vLLM error shape', () => {
    expect(predict(input({ model: 'x', prompt: 'p' })).response).toMatchObject({
      status: 404,
      body: { object: 'error', type: 'NotFoundError', code: 404 },
    });
    expect(predict(input([1, 2])).response.status).toBe(400);
    expect(predict(input({ prompt: 'p', max_tokens: 0 })).response.status).toBe(400);
    expect(predict(input({ prompt: 'p' })).usage).toBeDefined();
    expect(predict(input({ prompt: 5 })).usage).toBeUndefined();
  });

  it('streams chat chunks with a role delta first, usage when asked, then [DONE]', async () => {
    const out = predict(
      input(
        {
          messages: [{ role: 'user', content: [{ type: 'text', text: 'a b' }] }],
          stream: true,
          stream_options: { include_usage: true },
        },
        { enableStreaming: true },
      ),
    );
    expect(out.response.headers).toMatchObject({ 'content-type': 'text/event-stream' });
    const body = out.response.body as Readable;
    let text = '';
    for await (const chunk of body) text += String(chunk);
    const events = text
      .split('\n\n')
      .filter(Boolean)
      .map((e) => e.replace(/^data: /, ''));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map(
      (e) =>
        JSON.parse(e) as {
          object: string;
          choices: {
            delta?: { role?: string; content?: string };
            finish_reason: string | null;
          }[];
          usage?: unknown;
        },
    );
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    const content = chunks.flatMap((c) => c.choices.map((x) => x.delta?.content ?? '')).join('');
    expect(content).toBe('Emulated reply to: a b');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 2, completion_tokens: 5 },
    });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
  });
});
