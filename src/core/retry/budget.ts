/**
 * A retry budget (the Finagle / gRPC model): retries may add at most `ratio` of the recent calls,
 * plus a small reserve of `minPerSecond`, over a sliding window. When a dependency is sick, every
 * caller retries at once; the budget keeps the extra load at `ratio` instead of `maxAttempts - 1`.
 *
 * Memory is fixed: a ring of time buckets, whatever the call volume. Each call is filed under the
 * bucket of its own time (never batched: a batch filed after an idle spell would count old calls
 * as recent and allow too many retries). That time may come from a coarse clock (see
 * `budgetClockResolutionMs`): up to a quarter of a bucket late, never stale after idle; a later
 * one (a refresh timer run late) files the call in the head bucket and never moves the ring.
 */
import { Clock } from '../common/clock.js';

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
 * How far behind the clock that files calls may be (a {@link CoarseClock}): a quarter of a bucket,
 * so that a call is filed at most one bucket early and the window stays within 2.5 % of its length.
 */
export function budgetClockResolutionMs(windowMs: number): number {
  return windowMs / BUCKETS / 4;
}

/**
 * The budget state of one operation name. Its window is fixed when it is created; so are its ratio
 * and reserve when it is created with full limits (then every call of the name shares them).
 * @publicApi
 */
export class RetryBudget {
  private readonly calls = new Float64Array(BUCKETS);
  private readonly retries = new Float64Array(BUCKETS);
  private readonly bucketMs: number;
  private head = 0;
  /** `floor(time / bucketMs)` of the head bucket. */
  private headEpoch: number;
  /** The head bucket's time span [headStart, headEnd): a call inside it is filed with no division. */
  private headStart: number;
  private headEnd: number;
  /** The window of the budget, in ms. */
  readonly windowMs: number;
  /** The limits given at creation, used by every {@link RetryBudget.tryAcquire}; `undefined` when only a window was given. */
  readonly limits: RetryBudgetLimits | undefined;

  constructor(
    private readonly clock: Clock,
    /** A window in ms (each call then brings its ratio and reserve), or the budget's full limits. */
    windowOrLimits: number | RetryBudgetLimits = DEFAULT_RETRY_BUDGET.windowMs,
    /**
     * The time that {@link RetryBudget.recordCall} files calls at: `clock`, or a coarse clock over it
     * that is at most `budgetClockResolutionMs` behind (it saves a clock read per call).
     */
    private readonly callClock: Pick<Clock, 'now'> = clock,
  ) {
    this.limits = typeof windowOrLimits === 'number' ? undefined : windowOrLimits;
    this.windowMs = typeof windowOrLimits === 'number' ? windowOrLimits : windowOrLimits.windowMs;
    this.bucketMs = this.windowMs / BUCKETS;
    this.headEpoch = Math.floor(clock.now() / this.bucketMs);
    this.headStart = this.headEpoch * this.bucketMs;
    this.headEnd = this.headStart + this.bucketMs;
  }

  /** Counts one call (a first attempt), filed at its own time. The hot path: one `callClock` read. */
  recordCall(): void {
    const now = this.callClock.now();
    if (now >= this.headEnd) this.advance(now);
    // A time before the head bucket is filed in it. From a coarse clock it is only stale (its
    // refresh timer ran late under a GC pause or a resumed VM): rebasing the ring back to it would
    // let the next real reading clear the buckets. A step back is followed on a real reading only.
    else if (now < this.headStart && this.callClock === this.clock) this.advance(now);
    this.calls[this.head]++;
  }

  /**
   * Takes one retry from the budget; `false` when it is spent. The budget's own limits win when it
   * was created with them; else `limits` gives the ratio and the reserve. The window is always the
   * budget's own: a different `limits.windowMs` never resets it.
   */
  tryAcquire(limits: RetryBudgetLimits = this.limits ?? DEFAULT_RETRY_BUDGET): boolean {
    const { ratio, minPerSecond } = this.limits ?? limits;
    this.advance(this.clock.now());
    let calls = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      calls += this.calls[i];
      retries += this.retries[i];
    }
    const allowed = ratio * calls + (minPerSecond * this.windowMs) / 1000;
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

  /** Rotates the ring to `now`, clearing buckets that left the window. */
  private advance(now: number): void {
    const epoch = Math.floor(now / this.bucketMs);
    const steps = epoch - this.headEpoch;
    // A clock a little behind (within a bucket) keeps filing into the head bucket. One stepped back
    // further (NTP, a VM resumed) moves the ring back to `now` with its counts, which then age out
    // as usual: without that, every call would pile into the head bucket until time caught up.
    if (steps <= 0) {
      if (steps < -1) this.rebase(epoch);
      return;
    }
    if (steps >= BUCKETS) {
      this.calls.fill(0);
      this.retries.fill(0);
    } else {
      for (let i = 0; i < steps; i++) {
        this.head = (this.head + 1) % BUCKETS;
        this.calls[this.head] = 0;
        this.retries[this.head] = 0;
      }
    }
    this.rebase(epoch);
  }

  private rebase(epoch: number): void {
    this.headEpoch = epoch;
    this.headStart = epoch * this.bucketMs;
    this.headEnd = this.headStart + this.bucketMs;
  }
}
