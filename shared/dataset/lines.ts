/**
 * Splits a byte stream into lines with `Buffer.indexOf` (the fastest method measured, see
 * toolchain.md "Streaming JSONL"). Lines inside one chunk are zero-copy views; a line spanning
 * chunks is joined once. Memory stays bounded whatever the input: once a line passes
 * `maxLineBytes` its bytes are dropped and only its length is counted until the next newline.
 */
export interface Line {
  /** 1-based line number. */
  lineNo: number;
  /** The line without `\n` or a trailing `\r`; undefined when the line is over `maxLineBytes`. */
  bytes: Buffer | undefined;
  /** The line's length in bytes (without `\n`/`\r`), also for dropped lines. */
  byteLength: number;
}

const LF = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  private parts: Buffer[] = [];
  private pendingBytes = 0;
  private dropped = false;
  private lastByte = -1;
  private lineNo = 0;

  constructor(private readonly maxLineBytes: number) {}

  /**
   * Lines completed by `chunk`, appended to `out`. Lines may be views into `chunk`, valid until
   * the caller reuses its memory; the splitter itself keeps only copies.
   */
  push(chunk: Buffer, out: Line[]): void {
    let start = 0;
    const n = chunk.length;
    while (start < n) {
      const nl = chunk.indexOf(LF, start);
      if (nl === -1) {
        this.append(chunk.subarray(start));
        return;
      }
      if (this.pendingBytes === 0) {
        this.emit(chunk.subarray(start, nl), nl - start, out);
      } else {
        this.append(chunk.subarray(start, nl));
        this.flushPending(out);
      }
      start = nl + 1;
    }
  }

  /** The last line when the input does not end with a newline. */
  end(out: Line[]): void {
    if (this.pendingBytes > 0) this.flushPending(out);
  }

  /** How many lines were seen so far. */
  get lines(): number {
    return this.lineNo;
  }

  private append(part: Buffer): void {
    if (part.length === 0) return;
    this.pendingBytes += part.length;
    this.lastByte = part[part.length - 1]!;
    if (this.dropped) return;
    // +1 leaves room for a CR that is not counted.
    if (this.pendingBytes > this.maxLineBytes + 1) {
      this.dropped = true;
      this.parts = [];
      return;
    }
    // Copied: the caller may reuse the chunk's memory for the next read.
    this.parts.push(Buffer.from(part));
  }

  private flushPending(out: Line[]): void {
    if (this.dropped) {
      this.lineNo++;
      const len = this.pendingBytes - (this.lastByte === CR ? 1 : 0);
      out.push({ lineNo: this.lineNo, bytes: undefined, byteLength: len });
    } else {
      const joined =
        this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.pendingBytes);
      this.emit(joined, this.pendingBytes, out);
    }
    this.parts = [];
    this.pendingBytes = 0;
    this.dropped = false;
    this.lastByte = -1;
  }

  private emit(bytes: Buffer, length: number, out: Line[]): void {
    this.lineNo++;
    let len = length;
    let view = bytes;
    if (len > 0 && view[len - 1] === CR) {
      len--;
      view = view.subarray(0, len);
    }
    out.push({
      lineNo: this.lineNo,
      bytes: len > this.maxLineBytes ? undefined : view,
      byteLength: len,
    });
  }
}

/** Accepts the chunk types streams give (Buffer, Uint8Array) as a Buffer view without copying. */
export function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk)
    ? chunk
    : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
