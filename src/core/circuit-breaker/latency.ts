import type { LatencySummary } from '../common/latency-histogram.js';

/**
 * A small latency histogram for one circuit, kept in its counter block: a count, a maximum and 66
 * buckets, 272 bytes, where the shared `LatencyHistogram` needs 832, because a registry may hold
 * thousands of circuits and the budget is 1 KB each. These are plain functions over the block, so
 * the histogram costs no object of its own either.
 *
 * Latencies come from `Clock.now()`, whole milliseconds on the system clock, so the buckets are
 * exact up to 8 ms, then four per doubling (a reported value is at most 25 % above the true one)
 * up to 131 s; beyond that only the maximum is exact. A bucket about to overflow halves them all,
 * so the shape is kept and nothing wraps.
 */

const BOUNDS: number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
for (let base = 8; base < 131_072; base *= 2) {
  BOUNDS.push(base * 1.25, base * 1.5, base * 1.75, base * 2);
}
// Open-ended: a latency past 131 s is reported as the maximum seen.
BOUNDS.push(Infinity);
const LAST = BOUNDS.length - 1;
const COUNT = 0;
const MAX = 1;
const FIRST_BUCKET = 2;
const HALVE_AT = 0x8000_0000;

/** Counters a histogram takes in a block. */
export const LATENCY_SLOTS = FIRST_BUCKET + BOUNDS.length;

/** Records one latency, in ms, into the histogram at `offset` of `counts`. */
export function recordLatency(counts: Uint32Array, offset: number, ms: number): void {
  const v = ms > 0 ? ms : 0;
  // Binary search for the first bound >= v (about 7 steps).
  let lo = 0;
  let hi = LAST;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (BOUNDS[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  counts[offset + COUNT]++;
  if (++counts[offset + FIRST_BUCKET + lo] >= HALVE_AT) halve(counts, offset);
  const ceiled = Math.ceil(v);
  if (ceiled > counts[offset + MAX]) counts[offset + MAX] = Math.min(ceiled, 0xffff_ffff);
}

/** The upper bound of the bucket that holds the q-th sample, capped by the largest sample. */
export function latencyPercentile(counts: Uint32Array, offset: number, q: number): number {
  const total = counts[offset + COUNT];
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i <= LAST; i++) {
    seen += counts[offset + FIRST_BUCKET + i];
    if (seen >= rank) return Math.min(BOUNDS[i], counts[offset + MAX]);
  }
  return counts[offset + MAX];
}

export function latencySummary(counts: Uint32Array, offset: number): LatencySummary {
  return {
    count: counts[offset + COUNT],
    p50: latencyPercentile(counts, offset, 0.5),
    p95: latencyPercentile(counts, offset, 0.95),
    p99: latencyPercentile(counts, offset, 0.99),
    max: counts[offset + MAX],
  };
}

function halve(counts: Uint32Array, offset: number): void {
  let total = 0;
  for (let i = 0; i <= LAST; i++) {
    counts[offset + FIRST_BUCKET + i] >>>= 1;
    total += counts[offset + FIRST_BUCKET + i];
  }
  counts[offset + COUNT] = total;
}
