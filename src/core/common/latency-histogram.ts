/**
 * A bounded latency histogram: fixed log-spaced buckets, so memory stays the same whatever the
 * number of samples. Percentiles are accurate to the bucket width (about 10 %).
 */

const BUCKETS_PER_DOUBLING = 8;
const MAX_MS = 10 * 60_000;
// Bucket i covers up to 2^(i / BUCKETS_PER_DOUBLING) / 100 ms: from 10 µs to 10 minutes.
const BOUNDS: number[] = [];
for (let i = 0; ; i++) {
  const upper = Math.pow(2, i / BUCKETS_PER_DOUBLING) / 100;
  BOUNDS.push(upper);
  if (upper > MAX_MS) break;
}

/** Latency percentiles in milliseconds. @publicApi */
export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BOUNDS.length);
  private total = 0;
  private maxSeen = 0;

  record(ms: number): void {
    const v = ms > 0 ? ms : 0;
    let i = v <= BOUNDS[0] ? 0 : Math.ceil(Math.log2(v * 100) * BUCKETS_PER_DOUBLING);
    if (i >= BOUNDS.length) i = BOUNDS.length - 1;
    // Guard against floating-point edges of the log.
    while (i > 0 && BOUNDS[i - 1] >= v) i--;
    this.counts[i]++;
    this.total++;
    if (v > this.maxSeen) this.maxSeen = v;
  }

  /** The upper bound of the bucket holding the q-th sample, capped by the largest sample seen. */
  percentile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(round(BOUNDS[i]), round(this.maxSeen));
    }
    return round(this.maxSeen);
  }

  summary(): LatencySummary {
    return {
      count: this.total,
      p50: this.percentile(0.5),
      p95: this.percentile(0.95),
      p99: this.percentile(0.99),
      max: round(this.maxSeen),
    };
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.maxSeen = 0;
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
