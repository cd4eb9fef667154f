/**
 * A Prometheus-style histogram: cumulative counts per upper bound, a sum and
 * a count. Observing is O(buckets) with no allocation, so it can sit on hot
 * paths (every Redis call, every acknowledged change).
 */
export interface HistogramSnapshot {
  /** upper bounds, ascending; the implicit last bucket is +Inf */
  bounds: readonly number[];
  /** cumulative counts, one per bound, then the +Inf bucket (= count) */
  cumulative: number[];
  sum: number;
  count: number;
}

/** seconds: 0.1 ms to 5 s, for Redis round trips and acknowledgement waits */
export const LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
]);

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor (readonly bounds: readonly number[] = LATENCY_BUCKETS) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i] > bounds[i - 1])) {
        throw new Error(`histogram bounds must be strictly ascending, got ${bounds.join(', ')}`);
      }
    }
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe (value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]) {
      i++;
    }
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }

  snapshot (): HistogramSnapshot {
    const cumulative: number[] = [];
    let running = 0;
    for (const n of this.counts) {
      running += n;
      cumulative.push(running);
    }
    return { bounds: this.bounds, count: this.count, cumulative, sum: this.sum };
  }
}
