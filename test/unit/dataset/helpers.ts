import { validateDataset, type ValidateOptions } from '#shared/dataset/validate.ts';
import type { ValidationReport } from '#shared/dataset/report.ts';

/** Yields `data` in chunks of the given sizes (cycled), as a stream would. */
export async function* chunked(
  data: Uint8Array,
  sizes: number[] = [64 * 1024],
): AsyncGenerator<Uint8Array> {
  let i = 0;
  let k = 0;
  while (i < data.length) {
    const size = Math.max(1, sizes[k++ % sizes.length]!);
    yield data.subarray(i, i + size);
    i += size;
  }
}

/** A valid example line. */
export function exampleLine(i: number): string {
  return JSON.stringify({ prompt: `Question number ${i}?`, completion: `Answer number ${i}.` });
}

/** `count` valid distinct lines joined by `\n`, with a final newline. */
export function validLines(count: number, start = 0): string[] {
  return Array.from({ length: count }, (_, i) => exampleLine(start + i));
}

export function fileOf(lines: string[], eol = '\n', finalNewline = true): Buffer {
  return Buffer.from(lines.join(eol) + (finalNewline ? eol : ''), 'utf8');
}

/** A deterministic clock: advances 1 ms per reading. */
export function fakeClock(): () => number {
  let t = 0;
  return () => t++;
}

export async function validate(
  data: Uint8Array | AsyncIterable<Uint8Array>,
  options: Partial<ValidateOptions> = {},
  sizes?: number[],
): Promise<ValidationReport> {
  const source = data instanceof Uint8Array ? chunked(data, sizes) : data;
  return validateDataset(source, { now: fakeClock(), ...options });
}

/** The codes found, as `line:code` strings, in order. */
export function codesOf(report: ValidationReport): string[] {
  return [...report.errors, ...report.warnings].map((f) => `${f.line}:${f.code}`);
}

/** Like `chunked`, but every chunk is the same buffer, scribbled over before each refill (as `readFileChunks` reuses one). */
export async function* reusingBuffer(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  const buf = Buffer.alloc(size);
  for (let i = 0; i < data.length; i += size) {
    buf.fill(0x21);
    const n = Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(buf, 0, i, i + size);
    yield buf.subarray(0, n);
  }
}
