/**
 * Bounded-memory quantiles for non-negative integers (token counts): a log-bucket histogram in the
 * manner of DDSketch (Masson et al., VLDB 2019). Each bucket spans a factor of `gamma`, so any
 * reported quantile is within `relativeAccuracy` of a value that was really seen near that rank,
 * while memory stays a fixed few thousand counters whatever the number of values. Min and max are exact.
 */
export interface Distribution {
  min: number;
  p50: number;
  p95: number;
  max: number;
}

export class QuantileSketch {
  private readonly gamma: number;
  private readonly logGamma: number;
  private readonly counts: Float64Array;
  private zeros = 0;
  private total = 0;
  private minValue = Infinity;
  private maxValue = -Infinity;

  /** @param relativeAccuracy e.g. 0.01 for 1% */
  constructor(relativeAccuracy = 0.01, maxValue = 2 ** 32) {
    this.gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
    this.logGamma = Math.log(this.gamma);
    this.counts = new Float64Array(Math.ceil(Math.log(maxValue) / this.logGamma) + 2);
  }

  get count(): number {
    return this.total;
  }

  add(value: number): void {
    this.total++;
    if (value < this.minValue) this.minValue = value;
    if (value > this.maxValue) this.maxValue = value;
    if (value <= 0) {
      this.zeros++;
      return;
    }
    const i = Math.min(Math.ceil(Math.log(value) / this.logGamma), this.counts.length - 1);
    this.counts[Math.max(i, 0)]!++;
  }

  /** The value at quantile q in [0, 1], clamped to the exact min and max. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.floor(q * (this.total - 1));
    let seen = this.zeros;
    if (rank < seen) return 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (rank < seen) {
        const estimate = Math.round((2 * this.gamma ** i) / (this.gamma + 1));
        return Math.min(Math.max(estimate, this.minValue), this.maxValue);
      }
    }
    return this.maxValue;
  }

  distribution(): Distribution {
    if (this.total === 0) return { min: 0, p50: 0, p95: 0, max: 0 };
    return {
      min: this.minValue,
      p50: this.quantile(0.5),
      p95: this.quantile(0.95),
      max: this.maxValue,
    };
  }
}
