import { isUtf8 } from 'node:buffer';
import { DuplicateTracker } from './dedup.ts';
import { asBuffer, LineSplitter, type Line } from './lines.ts';
import type { ValidationReport } from './report.ts';
import {
  checkByteBounds,
  checkRecord,
  checkTokenCounts,
  compressionOf,
  defaultMaxLineBytes,
  defaultMinExamples,
  estimateTokens,
  fileHeadBytes,
  hasUtf8Bom,
  isJsonWhitespace,
  limitsNeedingCount,
  tokenLimitsFor,
  warningCodes,
  type ChatTemplate,
  type DatasetFormat,
  type Example,
  type Finding,
  type FindingCode,
  type TokenCounting,
  type TokenLimits,
} from './rules.ts';
import { QuantileSketch } from './sketch.ts';
import { defaultTokenizerLoader, type TokenizerLoader } from './tokens.ts';

/** What to validate against. Everything but `now` has a documented default. */
export interface ValidateOptions {
  /** `genai` (OCI Generative AI, the default) or `aqua` (Data Science AI Quick Actions). */
  format?: DatasetFormat;
  /** Base model id, e.g. `meta.llama-3.3-70b-instruct`: picks the token limits. */
  baseModel?: string;
  /** For `aqua`: check the prompt's chat template markers. */
  chatTemplate?: ChatTemplate;
  /** Lines longer than this are LINE_TOO_LONG and never held in memory (default 1 MiB). */
  maxLineBytes?: number;
  /** Fewer valid examples than this is TOO_FEW_EXAMPLES (default 32, OCI's minimum). */
  minExamples?: number;
  /** How many errors and how many warnings the report lists; counts are always complete (default 100). */
  maxFindings?: number;
  /** Examples remembered for duplicate detection (default 1,000,000, at most 24 MiB; 0 turns it off). */
  maxTrackedExamples?: number;
  /** Token limits per base model id, overriding the defaults in rules.ts. */
  tokenLimits?: Readonly<Record<string, TokenLimits>>;
  /** Where exact tokenizers come from (default: lazily imported llama3-tokenizer-js). */
  tokenizerLoader?: TokenizerLoader;
  /** The caller's clock in milliseconds, for `durationMs` (e.g. `performance.now`). */
  now: () => number;
}

export interface ValidateHooks {
  /** Called after each chunk with the bytes read so far. */
  onProgress?(bytes: number): void;
}

const fatalCodes: ReadonlySet<FindingCode> = new Set<FindingCode>([
  'EMPTY_FILE',
  'COMPRESSED_FILE',
  'JSON_ARRAY_FILE',
]);

/**
 * Validates a JSONL dataset as it streams by, in bounded memory whatever its size: the caller
 * supplies the bytes (a file read stream, an Object Storage getObject body), so this module does
 * no I/O. Each chunk is finished with before the next is pulled, so a source may reuse one buffer
 * (see `readFileChunks`). Stops reading at the first whole-file error (empty, compressed, JSON array).
 */
export async function validateDataset(
  source: AsyncIterable<Uint8Array>,
  options: ValidateOptions,
  hooks: ValidateHooks = {},
): Promise<ValidationReport> {
  const started = options.now();
  const format = options.format ?? 'genai';
  const maxLineBytes = options.maxLineBytes ?? defaultMaxLineBytes;
  const minExamples = options.minExamples ?? defaultMinExamples;
  const maxFindings = options.maxFindings ?? 100;
  const limits = tokenLimitsFor(options.baseModel, options.tokenLimits);
  const loader = options.tokenizerLoader ?? defaultTokenizerLoader;
  const smallestLimit =
    limits.counting === 'none'
      ? Infinity
      : Math.min(
          limits.maxPromptTokens ?? Infinity,
          limits.maxCompletionTokens ?? Infinity,
          limits.maxTotalTokens ?? Infinity,
        );

  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  const errorCounts: Partial<Record<FindingCode, number>> = {};
  const warningCounts: Partial<Record<FindingCode, number>> = {};
  let errorCount = 0;
  let warningCount = 0;
  let fatal = false;
  const add = (f: Finding): void => {
    if (warningCodes.has(f.code)) {
      warningCount++;
      warningCounts[f.code] = (warningCounts[f.code] ?? 0) + 1;
      if (warnings.length < maxFindings) warnings.push(f);
    } else {
      errorCount++;
      errorCounts[f.code] = (errorCounts[f.code] ?? 0) + 1;
      if (errors.length < maxFindings) errors.push(f);
      if (fatalCodes.has(f.code)) fatal = true;
    }
  };

  const splitter = new LineSplitter(maxLineBytes);
  const dedup = new DuplicateTracker(options.maxTrackedExamples);
  // Fingerprinting every accepted line (XXH64, dedup.ts) is within the benchmark's noise.
  const trackDuplicates = dedup.maxEntries > 0;
  const promptSketch = new QuantileSketch();
  const completionSketch = new QuantileSketch();
  let exampleCount = 0;
  let trainingTokens = 0;
  let tokenizedLines = 0;
  /** What the limits were really checked with: a missing tokenizer falls back to the byte bound. */
  let limitCheck: TokenCounting = limits.counting;
  let bytes = 0;

  const accept = (lineBytes: Buffer, line: number, ex: Example) => {
    exampleCount++;
    const p = estimateTokens(ex.prompt.length);
    const c = estimateTokens(ex.completion.length);
    promptSketch.add(p);
    completionSketch.add(c);
    trainingTokens += p + c;
    // Byte-identical lines: hashing the bytes already in hand is 2-3x cheaper than re-encoding
    // the fields, and exported datasets write duplicates identically.
    const first = trackDuplicates ? dedup.check(lineBytes, line) : 0;
    if (first !== 0) {
      add({
        line,
        code: 'DUPLICATE_EXAMPLE',
        message: `same prompt and completion as line ${first}`,
      });
    }
  };

  interface NeedsTokens {
    ex: Example;
    /** A copy: the line's view into the chunk may be reused by then. */
    bytes: Buffer;
    line: number;
    promptBytes: number;
    completionBytes: number;
  }

  /** Checks one line; returns the example when its token limits need a tokenizer. */
  const checkLine = (line: Line): NeedsTokens | undefined => {
    const n = line.lineNo;
    const b = line.bytes;
    if (b === undefined) {
      add({
        line: n,
        code: 'LINE_TOO_LONG',
        message: `line is ${line.byteLength} bytes, over the limit of ${maxLineBytes}`,
      });
      return undefined;
    }
    if (b.length === 0 || (isJsonWhitespace(b[0]!) && b.every(isJsonWhitespace))) {
      add({ line: n, code: 'BLANK_LINE', message: 'blank line: every line must be one example' });
      return undefined;
    }
    if (!isUtf8(b)) {
      add({ line: n, code: 'INVALID_UTF8', message: 'line is not valid UTF-8' });
      return undefined;
    }
    let value: unknown;
    try {
      value = JSON.parse(b.toString('utf8'));
    } catch {
      // The parser's own message quotes the line, so it is not passed on.
      add({ line: n, code: 'INVALID_JSON', message: 'line is not valid JSON' });
      return undefined;
    }
    const checked = checkRecord(value, n, format, options.chatTemplate);
    for (const f of checked.findings) add(f);
    const ex = checked.example;
    if (ex === undefined) return undefined;
    // A field's UTF-8 length never exceeds its JSON form, so a line within the smallest limit
    // needs no per-field measuring (Buffer.byteLength costs as much as JSON.parse).
    if (b.length > smallestLimit) {
      const promptBytes = Buffer.byteLength(ex.prompt, 'utf8');
      const completionBytes = Buffer.byteLength(ex.completion, 'utf8');
      if (limitsNeedingCount(limits, promptBytes, completionBytes)) {
        if (limits.counting === 'llama3-tokenizer') {
          return { ex, bytes: Buffer.from(b), line: n, promptBytes, completionBytes };
        }
        for (const f of checkByteBounds(limits, n, promptBytes, completionBytes)) add(f);
      }
    }
    accept(b, n, ex);
    return undefined;
  };

  const checkTokens = async (t: NeedsTokens): Promise<void> => {
    const count = await loader(limits.counting);
    if (count === undefined) {
      limitCheck = 'utf8-bytes-upper-bound';
      for (const f of checkByteBounds(limits, t.line, t.promptBytes, t.completionBytes)) add(f);
      accept(t.bytes, t.line, t.ex);
      return;
    }
    tokenizedLines++;
    const over = checkTokenCounts(limits, t.line, count(t.ex.prompt), count(t.ex.completion));
    if (over.length > 0) {
      for (const f of over) add(f);
      return;
    }
    accept(t.bytes, t.line, t.ex);
  };

  const lines: Line[] = [];
  const processLines = async (): Promise<void> => {
    for (const line of lines) {
      const pending = checkLine(line);
      if (pending !== undefined) await checkTokens(pending);
    }
    lines.length = 0;
  };

  let head: Buffer | undefined = Buffer.alloc(0);
  let sawContent = false;
  /** Whole-file checks on the first bytes; returns the data to split (BOM removed). */
  const checkHead = (data: Buffer): Buffer => {
    if (data.length === 0) {
      add({ line: 0, code: 'EMPTY_FILE', message: 'the file is empty' });
      return data;
    }
    const compression = compressionOf(data);
    if (compression !== undefined) {
      add({
        line: 0,
        code: 'COMPRESSED_FILE',
        message: `the file is ${compression}-compressed: upload uncompressed JSONL`,
      });
      return data;
    }
    if (hasUtf8Bom(data)) {
      add({
        line: 0,
        code: 'UTF8_BOM',
        message: 'the file starts with a UTF-8 byte order mark: save it as UTF-8 without BOM',
      });
      return data.subarray(3);
    }
    return data;
  };
  /** The first non-whitespace byte of the file decides whether it is a JSON array. */
  const checkArray = (data: Buffer): void => {
    for (let i = 0; i < data.length; i++) {
      const c = data[i]!;
      if (isJsonWhitespace(c)) continue;
      sawContent = true;
      if (c === 0x5b) {
        add({
          line: 0,
          code: 'JSON_ARRAY_FILE',
          message: 'the file is a JSON array: write one JSON object per line (JSONL)',
        });
      }
      return;
    }
  };
  const feed = async (data: Buffer): Promise<void> => {
    if (!sawContent) checkArray(data);
    if (fatal) return;
    splitter.push(data, lines);
    await processLines();
  };

  for await (const raw of source) {
    const chunk = asBuffer(raw);
    bytes += chunk.length;
    hooks.onProgress?.(bytes);
    if (head !== undefined) {
      // A copy: the source may reuse the chunk's memory for its next read.
      head = Buffer.concat([head, chunk]);
      if (head.length < fileHeadBytes) continue;
      const data = checkHead(head);
      head = undefined;
      if (!fatal) await feed(data);
    } else {
      await feed(chunk);
    }
    if (fatal) break;
  }
  if (head !== undefined) {
    const data = checkHead(head);
    if (!fatal) await feed(data);
  }
  if (!fatal) {
    splitter.end(lines);
    await processLines();
    if (exampleCount < minExamples) {
      add({
        line: 0,
        code: 'TOO_FEW_EXAMPLES',
        message: `${exampleCount} valid examples, at least ${minExamples} are required`,
      });
    }
  }

  return {
    valid: errorCount === 0,
    format,
    baseModel: options.baseModel ?? null,
    exampleCount,
    errorCount,
    errors,
    errorCounts,
    warningCount,
    warnings,
    warningCounts,
    stats: {
      bytes,
      lines: splitter.lines,
      promptTokens: promptSketch.distribution(),
      completionTokens: completionSketch.distribution(),
      estimatedTrainingTokens: trainingTokens,
      duplicateTracking: { tracked: dedup.tracked, saturated: dedup.saturated },
    },
    tokenCounting: {
      limitCheck,
      stats: 'estimate-chars-div-4',
      limits: {
        maxPromptTokens: limits.maxPromptTokens ?? null,
        maxCompletionTokens: limits.maxCompletionTokens ?? null,
        maxTotalTokens: limits.maxTotalTokens ?? null,
        source: limits.source,
      },
      tokenizedLines,
    },
    maxLineBytes,
    minExamples,
    durationMs: options.now() - started,
  };
}
