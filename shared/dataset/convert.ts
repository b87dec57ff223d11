import { isUtf8 } from 'node:buffer';
import { ConvertInputError } from './errors.ts';
import { asBuffer, LineSplitter, type Line } from './lines.ts';
import {
  compressionOf,
  defaultMaxLineBytes,
  fileHeadBytes,
  hasUtf8Bom,
  isJsonWhitespace,
  type ChatTemplate,
  type DatasetFormat,
} from './rules.ts';

/** Input formats `convertDataset` reads. */
export const SourceFormat = {
  alpaca: 'alpaca',
  openaiChat: 'openai-chat',
  sharegpt: 'sharegpt',
  auto: 'auto',
} as const;
export type SourceFormat = (typeof SourceFormat)[keyof typeof SourceFormat];
export type ConcreteSourceFormat = Exclude<SourceFormat, 'auto'>;

/** Why a record was not converted. */
export const DropReason = {
  RECORD_TOO_LARGE: 'RECORD_TOO_LARGE',
  INVALID_UTF8: 'INVALID_UTF8',
  INVALID_JSON: 'INVALID_JSON',
  NOT_AN_OBJECT: 'NOT_AN_OBJECT',
  UNRECOGNIZED_FORMAT: 'UNRECOGNIZED_FORMAT',
  MISSING_FIELD: 'MISSING_FIELD',
  WRONG_TYPE: 'WRONG_TYPE',
  EMPTY_FIELD: 'EMPTY_FIELD',
  UNSUPPORTED_CONTENT: 'UNSUPPORTED_CONTENT',
  NO_USER_TURN: 'NO_USER_TURN',
  NO_ASSISTANT_TURN: 'NO_ASSISTANT_TURN',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

export interface ConvertOptions {
  from: SourceFormat;
  /** Output format (default `genai`). Both write `{"prompt","completion"}` lines. */
  format?: DatasetFormat;
  /** Render prompts in a chat template (only with `format: 'aqua'`). */
  template?: ChatTemplate;
  /** System prompt for records that carry none. */
  system?: string;
  /** Records (lines or array elements) longer than this are dropped (default 1 MiB). */
  maxRecordBytes?: number;
  /** How many dropped records the report lists (default 20). */
  maxListedDrops?: number;
}

export interface ConvertReport {
  inputShape: 'jsonl' | 'json-array' | 'empty';
  /** Records read (non-blank lines or array elements). */
  records: number;
  converted: number;
  dropped: number;
  droppedByReason: Partial<Record<DropReason, number>>;
  /** The first dropped records: 1-based record number (the line for JSONL) and reason. */
  drops: { record: number; reason: DropReason }[];
  /** Converted records per detected source format. */
  detected: Partial<Record<ConcreteSourceFormat, number>>;
}

interface Turn {
  role: 'system' | 'user' | 'assistant';
  text: string;
}

export type RecordResult =
  | { ok: true; prompt: string; completion: string; from: ConcreteSourceFormat }
  | { ok: false; reason: DropReason };

const drop = (reason: DropReason): RecordResult => ({ ok: false, reason });

function detect(record: Record<string, unknown>): ConcreteSourceFormat | undefined {
  if ('instruction' in record && 'output' in record) return 'alpaca';
  if (Array.isArray(record['messages'])) return 'openai-chat';
  if (Array.isArray(record['conversations'])) return 'sharegpt';
  return undefined;
}

function str(
  record: Record<string, unknown>,
  key: string,
  required: boolean,
): string | DropReason | undefined {
  const v = record[key];
  if (v === undefined || v === null) return required ? 'MISSING_FIELD' : undefined;
  if (typeof v !== 'string') return 'WRONG_TYPE';
  if (required && v.trim() === '') return 'EMPTY_FIELD';
  return v;
}

const isReason = (v: unknown): v is DropReason =>
  typeof v === 'string' && Object.prototype.hasOwnProperty.call(DropReason, v);

function alpacaTurns(r: Record<string, unknown>): Turn[] | DropReason {
  const instruction = str(r, 'instruction', true);
  const output = str(r, 'output', true);
  const input = str(r, 'input', false);
  for (const v of [instruction, output, input]) if (isReason(v)) return v;
  // As Oracle's finance-alpaca tutorial does: the instruction, then the input when there is one.
  const user =
    input !== undefined && input.trim() !== ''
      ? `${instruction as string}\n\n${input}`
      : (instruction as string);
  return [
    { role: 'user', text: user },
    { role: 'assistant', text: output as string },
  ];
}

function contentText(content: unknown): string | DropReason {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return 'UNSUPPORTED_CONTENT';
  if (!Array.isArray(content)) return 'WRONG_TYPE';
  const texts: string[] = [];
  for (const part of content) {
    if (typeof part !== 'object' || part === null) return 'WRONG_TYPE';
    const p = part as Record<string, unknown>;
    if (p['type'] !== 'text' || typeof p['text'] !== 'string') return 'UNSUPPORTED_CONTENT';
    texts.push(p['text']);
  }
  return texts.join('\n');
}

function chatTurns(
  list: unknown[],
  roleKey: string,
  textKey: string,
  roles: Record<string, Turn['role']>,
): Turn[] | DropReason {
  const turns: Turn[] = [];
  for (const m of list) {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'WRONG_TYPE';
    const msg = m as Record<string, unknown>;
    const roleName = msg[roleKey];
    if (typeof roleName !== 'string')
      return roleName === undefined ? 'MISSING_FIELD' : 'WRONG_TYPE';
    const role = Object.prototype.hasOwnProperty.call(roles, roleName)
      ? roles[roleName]
      : undefined;
    if (role === undefined) return 'UNSUPPORTED_CONTENT';
    const text = contentText(msg[textKey]);
    if (isReason(text)) return text;
    if (text.trim() === '') return 'EMPTY_FIELD';
    turns.push({ role, text });
  }
  return turns;
}

const openaiRoles: Record<string, Turn['role']> = {
  system: 'system',
  developer: 'system',
  user: 'user',
  assistant: 'assistant',
};
const sharegptRoles: Record<string, Turn['role']> = {
  system: 'system',
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  chatgpt: 'assistant',
  assistant: 'assistant',
  model: 'assistant',
};

/** Renders the turns before the last assistant turn as a prompt. */
function renderPrompt(
  system: string | undefined,
  turns: Turn[],
  template: ChatTemplate | undefined,
): string {
  if (template === 'llama2') {
    // Llama 2 chat format: [INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s><s>[INST] ...
    let out = '';
    let first = true;
    let pendingUser: string[] = [];
    const flushUser = () => {
      const sys = first && system !== undefined ? `<<SYS>>\n${system}\n<</SYS>>\n\n` : '';
      out += `[INST] ${sys}${pendingUser.join('\n\n')} [/INST]`;
      pendingUser = [];
      first = false;
    };
    for (const t of turns) {
      if (t.role === 'user') pendingUser.push(t.text);
      else {
        if (pendingUser.length > 0) flushUser();
        out += ` ${t.text} </s><s>`;
      }
    }
    if (pendingUser.length > 0) flushUser();
    return out;
  }
  const single = turns.length === 1 && turns[0]!.role === 'user';
  const body = single
    ? turns[0]!.text
    : turns.map((t) => `${t.role === 'user' ? 'User' : 'Assistant'}: ${t.text}`).join('\n\n');
  return system !== undefined ? `${system}\n\n${body}` : body;
}

/**
 * Converts one parsed record to a prompt/completion pair. Chats become: the last assistant turn
 * is the completion, everything before it the prompt (system turns first).
 */
export function convertRecord(
  value: unknown,
  options: Pick<ConvertOptions, 'from' | 'template' | 'system'>,
): RecordResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return drop('NOT_AN_OBJECT');
  }
  const record = value as Record<string, unknown>;
  const from = options.from === 'auto' ? detect(record) : options.from;
  if (from === undefined) return drop('UNRECOGNIZED_FORMAT');
  let turns: Turn[] | DropReason;
  if (from === 'alpaca') {
    turns = alpacaTurns(record);
  } else {
    const key = from === 'openai-chat' ? 'messages' : 'conversations';
    const list = record[key];
    if (list === undefined) return drop('MISSING_FIELD');
    if (!Array.isArray(list)) return drop('WRONG_TYPE');
    turns =
      from === 'openai-chat'
        ? chatTurns(list, 'role', 'content', openaiRoles)
        : chatTurns(list, 'from', 'value', sharegptRoles);
  }
  if (isReason(turns)) return drop(turns);
  const systemTexts = turns.filter((t) => t.role === 'system').map((t) => t.text);
  const system = systemTexts.length > 0 ? systemTexts.join('\n\n') : options.system;
  const dialog = turns.filter((t) => t.role !== 'system');
  let last = dialog.length - 1;
  while (last >= 0 && dialog[last]!.role !== 'assistant') last--;
  if (last < 0) return drop('NO_ASSISTANT_TURN');
  const before = dialog.slice(0, last);
  if (!before.some((t) => t.role === 'user')) return drop('NO_USER_TURN');
  return {
    ok: true,
    prompt: renderPrompt(system, before, options.template),
    completion: dialog[last]!.text,
    from,
  };
}

/** An array element's bytes, or undefined when it was over the size limit. */
interface Element {
  bytes: Buffer | undefined;
}

/**
 * Splits a top-level JSON array into its elements as bytes stream by, tracking strings and
 * nesting depth, so a multi-gigabyte array never sits in memory whole.
 */
class ArrayElementSplitter {
  private state: 'before' | 'in' | 'after' = 'before';
  private depth = 0;
  private inString = false;
  private escape = false;
  private parts: Buffer[] = [];
  private pendingBytes = 0;
  private dropped = false;
  trailingGarbage = false;

  constructor(private readonly maxBytes: number) {}

  get finished(): boolean {
    return this.state === 'after';
  }

  push(chunk: Buffer, out: Element[]): void {
    let segStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.state !== 'in') {
        if (isJsonWhitespace(c)) continue;
        if (this.state === 'before' && c === 0x5b) {
          this.state = 'in';
          segStart = i + 1;
        } else {
          this.trailingGarbage = true;
          return;
        }
        continue;
      }
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === 0x5c) this.escape = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        if (this.depth === 0 && c === 0x5d) {
          this.finish(chunk.subarray(segStart, i), out, true);
          this.state = 'after';
        } else this.depth--;
      } else if (c === 0x2c && this.depth === 0) {
        this.finish(chunk.subarray(segStart, i), out, false);
        segStart = i + 1;
      }
    }
    if (this.state === 'in') this.append(chunk.subarray(segStart));
  }

  private append(part: Buffer): void {
    if (part.length === 0) return;
    this.pendingBytes += part.length;
    if (this.dropped) return;
    if (this.pendingBytes > this.maxBytes + 64) {
      this.dropped = true;
      this.parts = [];
      return;
    }
    // Copied: the caller may reuse the chunk's memory for the next read.
    this.parts.push(Buffer.from(part));
  }

  private finish(last: Buffer, out: Element[], closing: boolean): void {
    this.append(last);
    const bytes = this.dropped ? undefined : Buffer.concat(this.parts, this.pendingBytes);
    const blank = bytes !== undefined && bytes.every(isJsonWhitespace);
    // `[]` and a closing bracket after the last element are not elements.
    if (!(blank && closing)) {
      out.push({ bytes: bytes !== undefined && bytes.length > this.maxBytes ? undefined : bytes });
    }
    this.parts = [];
    this.pendingBytes = 0;
    this.dropped = false;
  }
}

/**
 * Streams records in (JSONL, or one JSON array as alpaca datasets often are) and writes one
 * prompt/completion JSON line per convertible record through `write`, which may return a promise
 * for backpressure. Memory is bounded by `maxRecordBytes` whatever the input size.
 */
export async function convertDataset(
  source: AsyncIterable<Uint8Array>,
  write: (text: string) => void | Promise<void>,
  options: ConvertOptions,
): Promise<ConvertReport> {
  if (options.template !== undefined && (options.format ?? 'genai') !== 'aqua') {
    throw new ConvertInputError('a chat template applies only to the aqua format');
  }
  const maxBytes = options.maxRecordBytes ?? defaultMaxLineBytes;
  const maxListed = options.maxListedDrops ?? 20;
  const report: ConvertReport = {
    inputShape: 'empty',
    records: 0,
    converted: 0,
    dropped: 0,
    droppedByReason: {},
    drops: [],
    detected: {},
  };
  const out: string[] = [];
  const onDrop = (record: number, reason: DropReason) => {
    report.dropped++;
    report.droppedByReason[reason] = (report.droppedByReason[reason] ?? 0) + 1;
    if (report.drops.length < maxListed) report.drops.push({ record, reason });
  };
  const onRecord = (bytes: Buffer | undefined, record: number) => {
    report.records++;
    if (bytes === undefined) return onDrop(record, 'RECORD_TOO_LARGE');
    if (!isUtf8(bytes)) return onDrop(record, 'INVALID_UTF8');
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      return onDrop(record, 'INVALID_JSON');
    }
    const r = convertRecord(value, options);
    if (!r.ok) return onDrop(record, r.reason);
    report.converted++;
    report.detected[r.from] = (report.detected[r.from] ?? 0) + 1;
    out.push(JSON.stringify({ prompt: r.prompt, completion: r.completion }) + '\n');
  };

  let head: Buffer | undefined = Buffer.alloc(0);
  let mode = 'unknown' as 'unknown' | 'jsonl' | 'array';
  const lineSplitter = new LineSplitter(maxBytes);
  const arraySplitter = new ArrayElementSplitter(maxBytes);
  const lines: Line[] = [];
  const elements: Element[] = [];

  const feed = async (data: Buffer): Promise<void> => {
    if (mode === 'unknown') {
      const first = data.findIndex((c) => !isJsonWhitespace(c));
      if (first === -1) return;
      mode = data[first] === 0x5b ? 'array' : 'jsonl';
      report.inputShape = mode === 'array' ? 'json-array' : 'jsonl';
    }
    if (mode === 'jsonl') {
      lineSplitter.push(data, lines);
      for (const l of lines) {
        if (l.bytes !== undefined && l.bytes.every(isJsonWhitespace)) continue;
        onRecord(l.bytes, l.lineNo);
      }
      lines.length = 0;
    } else {
      arraySplitter.push(data, elements);
      for (const e of elements) onRecord(e.bytes, report.records + 1);
      elements.length = 0;
      if (arraySplitter.trailingGarbage) {
        throw new ConvertInputError('the input is not a well-formed JSON array', {
          records: report.records,
        });
      }
    }
    if (out.length > 0) {
      const text = out.join('');
      out.length = 0;
      await write(text);
    }
  };
  const checkHead = (data: Buffer): Buffer => {
    const compression = compressionOf(data);
    if (compression !== undefined) {
      throw new ConvertInputError(`the input is ${compression}-compressed: decompress it first`);
    }
    return hasUtf8Bom(data) ? data.subarray(3) : data;
  };

  for await (const raw of source) {
    const chunk = asBuffer(raw);
    if (head !== undefined) {
      // A copy: the source may reuse the chunk's memory for its next read.
      head = Buffer.concat([head, chunk]);
      if (head.length < fileHeadBytes) continue;
      const data = checkHead(head);
      head = undefined;
      await feed(data);
    } else {
      await feed(chunk);
    }
  }
  if (head !== undefined) await feed(checkHead(head));
  if (mode === 'jsonl') {
    lineSplitter.end(lines);
    await feed(Buffer.alloc(0));
  } else if (mode === 'array' && !arraySplitter.finished) {
    throw new ConvertInputError('the JSON array ends before its closing bracket', {
      records: report.records,
    });
  }
  return report;
}
