import { hash } from 'node:crypto';

/**
 * Remembers examples by a 64-bit digest (the first 8 bytes of SHA-1, used as a fingerprint, not for
 * security; the one-shot `crypto.hash` over bytes is the fastest digest measured here) in an open-addressing table of typed arrays: 12 bytes per slot, no per-entry objects.
 * At 1,000,000 examples the chance of any false duplicate is about 3e-8. Past `maxEntries` new
 * examples are no longer remembered (duplicates among them go unreported) so memory stays bounded:
 * the default 1,000,000 entries take at most 24 MiB.
 */
export class DuplicateTracker {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private firstLine: Uint32Array;
  private size = 0;
  private mask: number;
  /** True once an example was not remembered because the table was full. */
  saturated = false;

  constructor(readonly maxEntries = 1_000_000) {
    const capacity = 1 << 12;
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.firstLine = new Uint32Array(capacity);
    this.mask = capacity - 1;
  }

  get tracked(): number {
    return this.size;
  }

  /** The line where an identical example was first seen, or 0 when it is new. */
  check(key: Uint8Array | string, line: number): number {
    const digest = hash('sha1', key, 'buffer');
    // 0 marks an empty slot, so the low word is forced odd: 63 bits of fingerprint remain.
    const hi = digest.readUInt32LE(0);
    const lo = (digest.readUInt32LE(4) | 1) >>> 0;
    let i = (hi ^ lo) & this.mask;
    for (;;) {
      const l = this.lo[i]!;
      if (l === 0) break;
      if (l === lo && this.hi[i] === hi) return this.firstLine[i]!;
      i = (i + 1) & this.mask;
    }
    if (this.size >= this.maxEntries) {
      this.saturated = true;
      return 0;
    }
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.firstLine[i] = line;
    this.size++;
    if (this.size * 2 > this.lo.length) this.grow();
    return 0;
  }

  private grow(): void {
    const { hi, lo, firstLine } = this;
    const capacity = lo.length * 2;
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.firstLine = new Uint32Array(capacity);
    this.mask = capacity - 1;
    for (let j = 0; j < lo.length; j++) {
      const l = lo[j]!;
      if (l === 0) continue;
      let i = (hi[j]! ^ l) & this.mask;
      while (this.lo[i] !== 0) i = (i + 1) & this.mask;
      this.hi[i] = hi[j]!;
      this.lo[i] = l;
      this.firstLine[i] = firstLine[j]!;
    }
  }
}
