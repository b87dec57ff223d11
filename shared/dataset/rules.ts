/**
 * The dataset rules: one implementation shared by the validate-dataset function and the CLI.
 * Everything here is pure: bytes and parsed values in, findings out. The streaming driver is
 * `validate.ts`; the facts behind each rule are in docs/validation.md and oci-facts.md section A.
 */

/** Every finding code. Errors make a dataset invalid; warnings do not. */
export const FindingCode = {
  EMPTY_FILE: 'EMPTY_FILE',
  COMPRESSED_FILE: 'COMPRESSED_FILE',
  JSON_ARRAY_FILE: 'JSON_ARRAY_FILE',
  UTF8_BOM: 'UTF8_BOM',
  INVALID_UTF8: 'INVALID_UTF8',
  BLANK_LINE: 'BLANK_LINE',
  INVALID_JSON: 'INVALID_JSON',
  NOT_AN_OBJECT: 'NOT_AN_OBJECT',
  MISSING_FIELD: 'MISSING_FIELD',
  UNKNOWN_FIELD: 'UNKNOWN_FIELD',
  WRONG_TYPE: 'WRONG_TYPE',
  EMPTY_FIELD: 'EMPTY_FIELD',
  LINE_TOO_LONG: 'LINE_TOO_LONG',
  TOO_MANY_TOKENS: 'TOO_MANY_TOKENS',
  TOO_FEW_EXAMPLES: 'TOO_FEW_EXAMPLES',
  TEMPLATE_MISMATCH: 'TEMPLATE_MISMATCH',
  DUPLICATE_EXAMPLE: 'DUPLICATE_EXAMPLE',
  TOKEN_LIMIT_UNVERIFIED: 'TOKEN_LIMIT_UNVERIFIED',
} as const;
export type FindingCode = (typeof FindingCode)[keyof typeof FindingCode];

/** Codes that are only warnings: the dataset stays valid. */
export const warningCodes: ReadonlySet<FindingCode> = new Set<FindingCode>([
  FindingCode.DUPLICATE_EXAMPLE,
  FindingCode.TOKEN_LIMIT_UNVERIFIED,
]);

/** One problem. `line` is 1-based; 0 means the whole file. */
export interface Finding {
  line: number;
  code: FindingCode;
  message: string;
}

export const DatasetFormat = { genai: 'genai', aqua: 'aqua' } as const;
export type DatasetFormat = (typeof DatasetFormat)[keyof typeof DatasetFormat];

export const ChatTemplate = { llama2: 'llama2' } as const;
export type ChatTemplate = (typeof ChatTemplate)[keyof typeof ChatTemplate];

/** The fields each format requires and allows. */
export const formatFields: Readonly<
  Record<DatasetFormat, { required: readonly string[]; optional: readonly string[] }>
> = {
  // "Every object has exactly the two properties prompt and completion" (training-data-requirements.htm).
  genai: { required: ['prompt', 'completion'], optional: [] },
  // AQUA prompt/completion JSONL (ai-quick-actions/fine-tuning-tips.md); `category` is tolerated.
  aqua: { required: ['prompt', 'completion'], optional: ['category'] },
};

/**
 * The largest line accepted by default: 1 MiB. The largest context of any supported base model is
 * 128,000 tokens (Llama 3.x, command-r-08-2024); English runs near 4 bytes per token, so a whole
 * context is about 512 KB and 1 MiB leaves room for JSON escaping. It also bounds the memory one
 * line can take while streaming.
 */
export const defaultMaxLineBytes = 1024 * 1024;

/** "A minimum of 32 prompt/completion pairs" (training-data-requirements.htm). */
export const defaultMinExamples = 32;

/** How token counts for the limit check are obtained. */
export const TokenCounting = {
  /** Exact counts from the Llama 3 tokenizer (llama3-tokenizer-js), only for lines over a limit in bytes. */
  llama3: 'llama3-tokenizer',
  /**
   * No offline tokenizer exists: a byte-level BPE never yields more tokens than UTF-8 bytes, so a
   * field within the limit in bytes is proven within it; longer fields get a warning, not an error.
   */
  utf8BytesUpperBound: 'utf8-bytes-upper-bound',
  /** No limits are known for this base model. */
  none: 'none',
} as const;
export type TokenCounting = (typeof TokenCounting)[keyof typeof TokenCounting];

/** Token limits for one base model. Unset limits are not checked. */
export interface TokenLimits {
  maxPromptTokens?: number;
  maxCompletionTokens?: number;
  /** Prompt plus completion (a shared context window). */
  maxTotalTokens?: number;
  counting: TokenCounting;
  /** Where the numbers come from. */
  source: string;
}

/**
 * Default limits per base model. OCI states no per-example training limit (oci-facts.md A), so these
 * come from the documented context and response limits of each model, and every one is overridable.
 */
export const defaultTokenLimits: Readonly<Record<string, TokenLimits>> = {
  'cohere.command-r-08-2024': {
    maxPromptTokens: 16_000,
    maxCompletionTokens: 4_000,
    counting: TokenCounting.utf8BytesUpperBound,
    source:
      'docs.oracle.com generative-ai/cohere-command-r-08-2024.htm: fine-tuned model prompt up to 16,000 tokens, response capped at 4,000',
  },
  'cohere.command-r-16k': {
    maxTotalTokens: 16_000,
    counting: TokenCounting.utf8BytesUpperBound,
    source: 'model name (16k context); listed as deprecated in generative-ai/limitations.htm',
  },
  'meta.llama-3.3-70b-instruct': {
    maxTotalTokens: 128_000,
    counting: TokenCounting.llama3,
    source:
      'docs.oracle.com generative-ai/meta-llama-3-3-70b.htm: 128,000 tokens prompt + response',
  },
  'meta.llama-3.1-70b-instruct': {
    maxTotalTokens: 128_000,
    counting: TokenCounting.llama3,
    source:
      'docs.oracle.com generative-ai/meta-llama-3-1-70b.htm: 128,000 tokens prompt + response',
  },
};

/** The limits for a base model: an override wins, then the table, then no limits. */
export function tokenLimitsFor(
  baseModel: string | undefined,
  overrides?: Readonly<Record<string, TokenLimits>>,
): TokenLimits {
  if (baseModel !== undefined) {
    const found = overrides?.[baseModel] ?? defaultTokenLimits[baseModel];
    if (found) return found;
  }
  return { counting: TokenCounting.none, source: 'no limits known for this base model' };
}

// Magic numbers: https://www.garykessler.net/library/file_sigs.html and each format's specification.
const magics: readonly { name: string; bytes: readonly number[] }[] = [
  { name: 'gzip', bytes: [0x1f, 0x8b] },
  { name: 'zip', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { name: 'zip', bytes: [0x50, 0x4b, 0x05, 0x06] },
  { name: 'zip', bytes: [0x50, 0x4b, 0x07, 0x08] },
  { name: 'bzip2', bytes: [0x42, 0x5a, 0x68] },
  { name: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { name: 'zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd] },
];

/** How many leading bytes `checkFileHead` needs to decide (fewer only at end of file). */
export const fileHeadBytes = 6;

/** The compression format whose magic number starts `head`, if any. */
export function compressionOf(head: Uint8Array): string | undefined {
  for (const m of magics) {
    if (head.length >= m.bytes.length && m.bytes.every((b, i) => head[i] === b)) return m.name;
  }
  return undefined;
}

/** True when `head` starts with the UTF-8 byte order mark EF BB BF. */
export function hasUtf8Bom(head: Uint8Array): boolean {
  return head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
}

/** True when `b` is JSON whitespace (space, tab, CR, LF). */
export function isJsonWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a;
}

/** A short, safe rendering of dataset text for messages: at most `max` characters, JSON-quoted. */
export function snippet(text: string, max = 16): string {
  const cut = text.length > max ? text.slice(0, max) + '…' : text;
  return JSON.stringify(cut);
}

/** A structurally valid example. */
export interface Example {
  prompt: string;
  completion: string;
  category?: string;
}

/** The result of checking one parsed line: its findings and, when it has none, the example. */
export interface LineCheck {
  findings: Finding[];
  example?: Example;
}

function isBlank(s: string): boolean {
  return s.trim().length === 0;
}

/**
 * Checks one parsed JSON value against a format: object, required fields, unknown fields, types,
 * non-empty strings and (for `llama2`) the chat template markers. Token limits are checked apart
 * because they may need an asynchronously loaded tokenizer.
 */
export function checkRecord(
  value: unknown,
  line: number,
  format: DatasetFormat,
  chatTemplate?: ChatTemplate,
): LineCheck {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    return {
      findings: [{ line, code: 'NOT_AN_OBJECT', message: `line is ${kind}, not a JSON object` }],
    };
  }
  const record = value as Record<string, unknown>;
  const fields = formatFields[format];
  const findings: Finding[] = [];
  for (const key of Object.keys(record)) {
    if (!fields.required.includes(key) && !fields.optional.includes(key)) {
      findings.push({
        line,
        code: 'UNKNOWN_FIELD',
        message: `unknown field ${snippet(key)}: the ${format} format allows only ${[...fields.required, ...fields.optional].join(', ')}`,
      });
    }
  }
  const checkString = (key: string, required: boolean): void => {
    if (!Object.prototype.hasOwnProperty.call(record, key)) {
      if (required) {
        findings.push({ line, code: 'MISSING_FIELD', message: `missing field "${key}"` });
      }
      return;
    }
    const v = record[key];
    if (typeof v !== 'string') {
      const kind = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
      findings.push({
        line,
        code: 'WRONG_TYPE',
        message: `field "${key}" is ${kind}, expected a string`,
      });
    } else if (isBlank(v)) {
      findings.push({ line, code: 'EMPTY_FIELD', message: `field "${key}" is empty` });
    }
  };
  for (const key of fields.required) checkString(key, true);
  for (const key of fields.optional) checkString(key, false);
  if (findings.length > 0) return { findings };

  const example: Example = {
    prompt: record['prompt'] as string,
    completion: record['completion'] as string,
  };
  if (typeof record['category'] === 'string') example.category = record['category'];
  if (format === 'aqua' && chatTemplate === 'llama2') {
    const problem = llama2TemplateProblem(example.prompt);
    if (problem !== undefined) {
      return { findings: [{ line, code: 'TEMPLATE_MISMATCH', message: problem }] };
    }
  }
  return { findings: [], example };
}

/**
 * Why a prompt does not follow the Llama 2 chat template, or undefined when it does: every
 * `[INST]` is closed by `[/INST]` before the next opens, at least one pair exists, and `<<SYS>>`
 * / `<</SYS>>` (at most one pair) sit inside the first instruction.
 */
export function llama2TemplateProblem(prompt: string): string | undefined {
  const tokens = prompt.match(/\[\/?INST\]|<<\/?SYS>>/g) ?? [];
  let inInst = false;
  let instPairs = 0;
  let sysState: 'none' | 'open' | 'closed' = 'none';
  for (const t of tokens) {
    switch (t) {
      case '[INST]':
        if (inInst) return 'nested [INST]: each [INST] must be closed by [/INST] first';
        inInst = true;
        break;
      case '[/INST]':
        if (!inInst) return '[/INST] without a matching [INST]';
        if (sysState === 'open') return '<<SYS>> not closed by <</SYS>> before [/INST]';
        inInst = false;
        instPairs++;
        break;
      case '<<SYS>>':
        if (sysState !== 'none') return 'more than one <<SYS>> block';
        if (!inInst || instPairs > 0) return '<<SYS>> must sit inside the first [INST]';
        sysState = 'open';
        break;
      case '<</SYS>>':
        if (sysState !== 'open') return '<</SYS>> without a matching <<SYS>>';
        sysState = 'closed';
        break;
    }
  }
  if (inInst) return '[INST] not closed by [/INST]';
  if (instPairs === 0) return 'no [INST] ... [/INST] block: the llama2 template needs one';
  return undefined;
}

/**
 * A token count for the limit check: exact (a tokenizer) or an upper bound (UTF-8 bytes). The
 * validator asks for exact counts only when the byte length is over a limit.
 */
export type CountTokens = (text: string) => number;

/** Which limits a field's byte length leaves undecided (so a tokenizer may be needed). */
export function limitsNeedingCount(
  limits: TokenLimits,
  promptBytes: number,
  completionBytes: number,
): boolean {
  return (
    (limits.maxPromptTokens !== undefined && promptBytes > limits.maxPromptTokens) ||
    (limits.maxCompletionTokens !== undefined && completionBytes > limits.maxCompletionTokens) ||
    (limits.maxTotalTokens !== undefined && promptBytes + completionBytes > limits.maxTotalTokens)
  );
}

/**
 * Checks exact token counts against the limits. `promptTokens`/`completionTokens` must be exact
 * counts (or upper bounds that are known to be within a limit).
 */
export function checkTokenCounts(
  limits: TokenLimits,
  line: number,
  promptTokens: number,
  completionTokens: number,
): Finding[] {
  const out: Finding[] = [];
  const over = (what: string, n: number, max: number) =>
    out.push({
      line,
      code: 'TOO_MANY_TOKENS',
      message: `${what} has ${n} tokens, over the limit of ${max}`,
    });
  if (limits.maxPromptTokens !== undefined && promptTokens > limits.maxPromptTokens) {
    over('prompt', promptTokens, limits.maxPromptTokens);
  }
  if (limits.maxCompletionTokens !== undefined && completionTokens > limits.maxCompletionTokens) {
    over('completion', completionTokens, limits.maxCompletionTokens);
  }
  if (
    limits.maxTotalTokens !== undefined &&
    promptTokens + completionTokens > limits.maxTotalTokens
  ) {
    over('prompt + completion', promptTokens + completionTokens, limits.maxTotalTokens);
  }
  return out;
}

/**
 * Without a tokenizer: byte lengths over a limit cannot prove the limit is exceeded, so they give
 * a warning naming the estimate (bytes / 4) instead of an error.
 */
export function checkByteBounds(
  limits: TokenLimits,
  line: number,
  promptBytes: number,
  completionBytes: number,
): Finding[] {
  const out: Finding[] = [];
  const warn = (what: string, bytes: number, max: number) =>
    out.push({
      line,
      code: 'TOKEN_LIMIT_UNVERIFIED',
      message: `${what} is ${bytes} bytes (about ${estimateTokens(bytes)} tokens); the limit of ${max} tokens cannot be verified without the model's tokenizer`,
    });
  if (limits.maxPromptTokens !== undefined && promptBytes > limits.maxPromptTokens) {
    warn('prompt', promptBytes, limits.maxPromptTokens);
  }
  if (limits.maxCompletionTokens !== undefined && completionBytes > limits.maxCompletionTokens) {
    warn('completion', completionBytes, limits.maxCompletionTokens);
  }
  if (
    limits.maxTotalTokens !== undefined &&
    promptBytes + completionBytes > limits.maxTotalTokens
  ) {
    warn('prompt + completion', promptBytes + completionBytes, limits.maxTotalTokens);
  }
  return out;
}

/**
 * A rough token estimate for statistics and warnings: about 4 characters (or UTF-8 bytes) per
 * token, the usual rule of thumb for English with BPE tokenizers.
 */
export function estimateTokens(charsOrBytes: number): number {
  return Math.ceil(charsOrBytes / 4);
}

/**
 * The limits for a base model with user-set budgets (e.g. a workflow's `dataset.tokenLimits`)
 * laid over the defaults. A model without a known tokenizer is checked by the byte upper bound.
 */
export function overrideTokenLimits(
  baseModel: string | undefined,
  budgets: { maxPromptTokens?: number; maxCompletionTokens?: number; maxTotalTokens?: number },
  source: string,
): TokenLimits {
  const base = tokenLimitsFor(baseModel);
  return {
    ...base,
    ...budgets,
    counting: base.counting === 'none' ? 'utf8-bytes-upper-bound' : base.counting,
    source,
  };
}
