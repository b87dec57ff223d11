/**
 * The predict API of an emulated model deployment: what an AI Quick Actions vLLM container answers
 * behind `POST <modelDeploymentUrl>/predict` (OpenAI-compatible completions and chat completions,
 * plain or as server-sent events), with deterministic canned text and no model at all. Also the
 * per-deployment usage meter a Monitoring emulator can turn into metrics.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { Collection, EmulatorResponse } from './service.ts';

export const PredictRoute = {
  Completions: '/v1/completions',
  ChatCompletions: '/v1/chat/completions',
} as const;
export type PredictRoute = (typeof PredictRoute)[keyof typeof PredictRoute];

const contentPartSchema = z.looseObject({ type: z.string(), text: z.string().optional() });
const messageSchema = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(contentPartSchema), z.null()]).optional(),
});

const commonFields = {
  model: z.string().optional(),
  max_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).optional(),
  top_p: z.number().min(0).max(1).optional(),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
};

const completionSchema = z.looseObject({
  ...commonFields,
  prompt: z.union([z.string(), z.array(z.string()).min(1)]),
});

const chatSchema = z.looseObject({
  ...commonFields,
  messages: z.array(messageSchema).min(1),
});

/** A vLLM-style error body (`{"object":"error",...}`), as the container answers bad requests. */
function vllmError(status: number, type: string, message: string): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: { object: 'error', message, type, param: null, code: status },
  };
}

/** Whitespace-separated words: the emulator's stand-in for tokens (at least 1 for any text). */
export function countTokens(text: string): number {
  const n = text.split(/\s+/).filter((w) => w.length > 0).length;
  return Math.max(1, n);
}

export interface CannedReply {
  /** The completion split into the pieces a stream sends (one per "token"). */
  pieces: string[];
  finishReason: 'stop' | 'length';
  promptTokens: number;
  completionTokens: number;
}

/**
 * The deterministic reply to `prompt`: a fixed lead-in, then the prompt's words echoed back, cut at
 * `maxTokens` words (finish_reason `length`) or whole (`stop`).
 */
export function cannedReply(prompt: string, maxTokens: number | undefined): CannedReply {
  const promptWords = prompt.split(/\s+/).filter((w) => w.length > 0);
  const words = ['Emulated', 'reply', 'to:', ...promptWords.slice(0, 64)];
  const cut = maxTokens !== undefined && words.length > maxTokens;
  const kept = cut ? words.slice(0, maxTokens) : words;
  return {
    pieces: kept.map((w, i) => (i === 0 ? w : ` ${w}`)),
    finishReason: cut ? 'length' : 'stop',
    promptTokens: countTokens(prompt),
    completionTokens: kept.length,
  };
}

function textOfMessage(m: z.output<typeof messageSchema>): string {
  if (typeof m.content === 'string') return m.content;
  if (Array.isArray(m.content)) return m.content.map((p) => p.text ?? '').join(' ');
  return '';
}

export interface PredictOutcome {
  response: EmulatorResponse;
  /** Set when the request was answered (2xx): what the meter records. */
  usage?: { promptTokens: number; completionTokens: number; streaming: boolean };
}

export interface PredictInput {
  deploymentId: string;
  /** The deployment's `MODEL_DEPLOY_PREDICT_ENDPOINT`, if its container sets one. */
  defaultRoute?: string;
  /** The `route` header. */
  routeHeader?: string;
  enableStreaming: boolean;
  servedModelName: string;
  nowMs: number;
  body: unknown;
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function readPredictHeaders(headers: Record<string, string | string[] | undefined>): {
  routeHeader?: string;
  enableStreaming: boolean;
} {
  const route = header(headers.route);
  const streaming = header(headers['enable-streaming']);
  return {
    ...(route ? { routeHeader: route } : {}),
    enableStreaming: streaming !== undefined && streaming.toLowerCase() === 'true',
  };
}

/** Answers one predict request (a pure function of its input, apart from the stream object). */
export function predict(input: PredictInput): PredictOutcome {
  const body = input.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return {
      response: vllmError(400, 'BadRequestError', 'The request body must be a JSON object'),
    };
  }
  const isChatBody = 'messages' in body;
  const route =
    input.routeHeader ??
    input.defaultRoute ??
    (isChatBody ? PredictRoute.ChatCompletions : PredictRoute.Completions);
  if (route !== PredictRoute.Completions && route !== PredictRoute.ChatCompletions) {
    return { response: vllmError(404, 'NotFoundError', `Route ${route} is not served`) };
  }
  const chat = route === PredictRoute.ChatCompletions;
  const parsed = chat ? chatSchema.safeParse(body) : completionSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
    return {
      response: vllmError(400, 'BadRequestError', `Invalid ${path}: ${issue?.message ?? ''}`),
    };
  }
  const d = parsed.data;
  const model = d.model ?? input.servedModelName;
  if (model !== input.servedModelName) {
    return {
      response: vllmError(404, 'NotFoundError', `The model \`${model}\` does not exist.`),
    };
  }
  let promptText: string;
  if (chat) {
    const messages = (d as z.output<typeof chatSchema>).messages;
    const lastUser = [...messages].reverse().find((m) => m.role === 'user') ?? messages.at(-1);
    promptText = messages.map(textOfMessage).join(' ');
    // The reply echoes the last user turn; usage counts every message.
    const reply = cannedReply(lastUser ? textOfMessage(lastUser) : '', d.max_tokens ?? undefined);
    reply.promptTokens = countTokens(promptText);
    return render(input, true, model, reply, d);
  }
  const prompt = (d as z.output<typeof completionSchema>).prompt;
  promptText = Array.isArray(prompt) ? (prompt[0] as string) : prompt;
  // OpenAI's and vLLM's completions default max_tokens is 16.
  const reply = cannedReply(promptText, d.max_tokens ?? 16);
  return render(input, false, model, reply, d);
}

function render(
  input: PredictInput,
  chat: boolean,
  model: string,
  reply: CannedReply,
  d: { stream?: boolean | undefined; stream_options?: { include_usage?: boolean } | null },
): PredictOutcome {
  const id =
    (chat ? 'chatcmpl-' : 'cmpl-') +
    createHash('sha256')
      .update(`${input.deploymentId}:${input.nowMs}:${reply.pieces.join('')}`)
      .digest('hex')
      .slice(0, 32);
  const created = Math.floor(input.nowMs / 1000);
  const usage = {
    prompt_tokens: reply.promptTokens,
    total_tokens: reply.promptTokens + reply.completionTokens,
    completion_tokens: reply.completionTokens,
  };
  const text = reply.pieces.join('');
  const streaming = d.stream === true;
  const meter = {
    promptTokens: reply.promptTokens,
    completionTokens: reply.completionTokens,
    streaming,
  };
  if (!streaming) {
    const choice = chat
      ? {
          index: 0,
          message: { role: 'assistant', content: text, tool_calls: [] },
          logprobs: null,
          finish_reason: reply.finishReason,
          stop_reason: null,
        }
      : { index: 0, text, logprobs: null, finish_reason: reply.finishReason, stop_reason: null };
    return {
      response: {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: {
          id,
          object: chat ? 'chat.completion' : 'text_completion',
          created,
          model,
          choices: [choice],
          usage,
        },
      },
      usage: meter,
    };
  }
  const object = chat ? 'chat.completion.chunk' : 'text_completion';
  const chunks: unknown[] = [];
  if (chat) {
    chunks.push({
      id,
      object,
      created,
      model,
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
    });
  }
  reply.pieces.forEach((piece, i) => {
    const last = i === reply.pieces.length - 1;
    const finish = last ? reply.finishReason : null;
    chunks.push({
      id,
      object,
      created,
      model,
      choices: [
        chat
          ? { index: 0, delta: { content: piece }, logprobs: null, finish_reason: finish }
          : { index: 0, text: piece, logprobs: null, finish_reason: finish },
      ],
    });
  });
  if (d.stream_options?.include_usage) {
    chunks.push({ id, object, created, model, choices: [], usage });
  }
  const events = [...chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`), 'data: [DONE]\n\n'];
  const headers = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };
  // Without `enable-streaming: true` OCI's predict gateway buffers the reply: the same events
  // arrive in one body.
  const out = input.enableStreaming
    ? Readable.from(events.map((e) => Buffer.from(e)))
    : Buffer.from(events.join(''));
  return { response: { status: 200, headers, body: out }, usage: meter };
}

// ---- usage meter ----

/** Cumulative predict usage of one deployment since it was created. */
export interface PredictUsage {
  deploymentId: string;
  requests: number;
  /** Requests answered with a 4xx or 5xx (including a deployment that is not ACTIVE). */
  errors: number;
  streamingRequests: number;
  promptTokens: number;
  completionTokens: number;
  lastRequestAt?: string;
}

/** One predict call, as a Monitoring emulator would count it. */
export interface PredictEvent {
  deploymentId: string;
  at: string;
  status: number;
  promptTokens: number;
  completionTokens: number;
  streaming: boolean;
}

interface UsageRecord extends PredictUsage {
  id: string;
}

/** Counts predict calls per deployment: totals persisted, recent events kept in memory. */
export class UsageMeter {
  private readonly events: PredictEvent[] = [];

  constructor(
    private readonly store: Collection<UsageRecord>,
    private readonly maxEvents: number,
  ) {}

  record(e: PredictEvent): void {
    const u: UsageRecord = this.store.get(e.deploymentId) ?? {
      id: e.deploymentId,
      deploymentId: e.deploymentId,
      requests: 0,
      errors: 0,
      streamingRequests: 0,
      promptTokens: 0,
      completionTokens: 0,
    };
    u.requests += 1;
    if (e.status >= 400) u.errors += 1;
    if (e.streaming) u.streamingRequests += 1;
    u.promptTokens += e.promptTokens;
    u.completionTokens += e.completionTokens;
    u.lastRequestAt = e.at;
    this.store.put(u);
    this.events.push(e);
    if (this.events.length > this.maxEvents)
      this.events.splice(0, this.events.length - this.maxEvents);
  }

  usage(deploymentId: string): PredictUsage {
    const u = this.store.get(deploymentId);
    if (!u) {
      return {
        deploymentId,
        requests: 0,
        errors: 0,
        streamingRequests: 0,
        promptTokens: 0,
        completionTokens: 0,
      };
    }
    const { id: _id, ...rest } = u;
    return rest;
  }

  allUsage(): PredictUsage[] {
    return this.store.list().map(({ id: _id, ...rest }) => rest);
  }

  /** Events at or after `sinceMs` (this process only; the newest `maxEvents`). */
  eventsSince(sinceMs = 0): PredictEvent[] {
    return this.events.filter((e) => Date.parse(e.at) >= sinceMs).map((e) => ({ ...e }));
  }
}
