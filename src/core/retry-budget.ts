/**
 * A retry budget (the Finagle / gRPC model): retries may add at most `ratio` of the recent calls,
 * plus a small reserve of `minPerSecond`, over a sliding window. When a dependency is sick, every
 * caller retries at once; the budget keeps the extra load at `ratio` instead of `maxAttempts - 1`.
 *
 * Memory is fixed: a ring of time buckets, whatever the call volume.
 */
import { Clock } from './clock.js';

/** The limits of a retry budget. @publicApi */
export interface RetryBudgetLimits {
  /** Retries allowed as a share of calls in the window (0.2 = 20 %). @default 0.2 */
  readonly ratio: number;
  /** Retries per second always allowed (a reserve of `minPerSecond * windowMs / 1000`). @default 5 */
  readonly minPerSecond: number;
  /** Length of the sliding window, in ms. @default 10000 */
  readonly windowMs: number;
}

/** @publicApi */
export const DEFAULT_RETRY_BUDGET: RetryBudgetLimits = Object.freeze({
  ratio: 0.2,
  minPerSecond: 5,
  windowMs: 10_000,
});

const BUCKETS = 10;
/**
 * Calls are counted without reading the clock (a clock read costs as much as the whole fast path);
 * every this many calls, and before each retry decision, the pending count is filed under the
 * current bucket. So at most this many calls can be filed later than they happened.
 */
const FLUSH_EVERY = 64;

/**
 * The budget state of one operation name.
 * @publicApi
 */
export class RetryBudget {
  private readonly calls = new Float64Array(BUCKETS);
  private readonly retries = new Float64Array(BUCKETS);
  private bucketMs: number;
  private head = 0;
  /** `floor(time / bucketMs)` of the head bucket. */
  private headEpoch: number;
  private pending = 0;

  constructor(
    private readonly clock: Clock,
    private windowMs: number = DEFAULT_RETRY_BUDGET.windowMs,
  ) {
    this.bucketMs = windowMs / BUCKETS;
    this.headEpoch = Math.floor(clock.now() / this.bucketMs);
  }

  /** Counts one call (a first attempt). The hot path: no clock read. */
  recordCall(): void {
    if (++this.pending >= FLUSH_EVERY) this.advance(this.clock.now());
  }

  /**
   * Takes one retry from the budget; `false` when it is spent. A window different from this
   * budget's own resets it to that window.
   */
  tryAcquire(limits: RetryBudgetLimits): boolean {
    const now = this.clock.now();
    if (limits.windowMs !== this.windowMs) this.reset(limits.windowMs, now);
    this.advance(now);
    let calls = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      calls += this.calls[i];
      retries += this.retries[i];
    }
    const allowed = limits.ratio * calls + (limits.minPerSecond * this.windowMs) / 1000;
    if (retries + 1 > allowed) return false;
    this.retries[this.head]++;
    return true;
  }

  /** Calls and retries counted in the current window. */
  snapshot(): { calls: number; retries: number } {
    this.advance(this.clock.now());
    let calls = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      calls += this.calls[i];
      retries += this.retries[i];
    }
    return { calls, retries };
  }

  /** Rotates the ring to `now`, clearing buckets that left the window, and files pending calls. */
  private advance(now: number): void {
    const epoch = Math.floor(now / this.bucketMs);
    const steps = epoch - this.headEpoch;
    if (steps >= BUCKETS) {
      this.calls.fill(0);
      this.retries.fill(0);
      this.headEpoch = epoch;
    } else if (steps > 0) {
      for (let i = 0; i < steps; i++) {
        this.head = (this.head + 1) % BUCKETS;
        this.calls[this.head] = 0;
        this.retries[this.head] = 0;
      }
      this.headEpoch = epoch;
    }
    // A clock that went backwards keeps filing into the head bucket.
    this.calls[this.head] += this.pending;
    this.pending = 0;
  }

  private reset(windowMs: number, now: number): void {
    this.windowMs = windowMs;
    this.bucketMs = windowMs / BUCKETS;
    this.calls.fill(0);
    this.retries.fill(0);
    this.head = 0;
    this.headEpoch = Math.floor(now / this.bucketMs);
  }
}
