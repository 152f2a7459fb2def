/**
 * Time-bucketed call counters for one circuit. Memory is O(buckets) whatever the call volume:
 * `buckets × 5` counters in a `Uint32Array` (its own, or a block of a shared one) plus running sums,
 * so reading the window is O(1) and rolling it touches only the buckets that expired.
 *
 * The window covers the current bucket and the `buckets - 1` before it: between
 * `windowMs - bucketMs` and `windowMs` of history, moving in steps of one bucket.
 */

// Counter slots inside one bucket.
const CALLS = 0;
const FAILURES = 1;
const TIMEOUTS = 2;
const REJECTIONS = 3;
const SLOW = 4;
const SLOTS = 5;

/** The window's counters at one moment. @publicApi */
export interface WindowCounts {
  /** Calls that ran to an outcome: successes plus counted failures (timeouts included). */
  calls: number;
  /** Counted failures, timeouts included. */
  failures: number;
  timeouts: number;
  /** Calls refused without running, because the circuit was open or its probes were taken. */
  rejections: number;
  /** Calls at least as slow as `slowCallThreshold` (0 when slow-call detection is off). */
  slowCalls: number;
}

export class RollingWindow {
  /** Counters needed for `buckets` buckets. */
  static slots(buckets: number): number {
    return buckets * SLOTS;
  }

  private counts: Uint32Array;
  private offset: number;
  private readonly bucketMs: number;
  private head = 0;
  /** Which bucket-length period of time the head bucket covers: `floor(t / bucketMs)`. */
  private headEpoch: number;
  calls = 0;
  failures = 0;
  timeouts = 0;
  rejections = 0;
  slowCalls = 0;

  /** `counts` / `offset`: a zeroed block of {@link RollingWindow.slots} counters to use. */
  constructor(
    windowMs: number,
    private readonly size: number,
    now: number,
    counts?: Uint32Array,
    offset = 0,
  ) {
    this.bucketMs = windowMs / size;
    this.counts = counts ?? new Uint32Array(size * SLOTS);
    this.offset = counts ? offset : 0;
    this.headEpoch = Math.floor(now / this.bucketMs);
  }

  /**
   * When the head bucket ends. Computed rather than stored: a stored timestamp is a boxed number,
   * 24 bytes more per circuit.
   */
  private get nextRollAt(): number {
    return (this.headEpoch + 1) * this.bucketMs;
  }

  /** Records a call that ran. `failure` includes timeouts. */
  record(now: number, failure: boolean, timeout: boolean, slow: boolean): void {
    if (now >= this.nextRollAt) this.roll(now);
    const base = this.offset + this.head * SLOTS;
    const c = this.counts;
    c[base + CALLS]++;
    this.calls++;
    if (failure) {
      c[base + FAILURES]++;
      this.failures++;
      if (timeout) {
        c[base + TIMEOUTS]++;
        this.timeouts++;
      }
    }
    if (slow) {
      c[base + SLOW]++;
      this.slowCalls++;
    }
  }

  /** Records `count` successes at once (successes that were not timed one by one). */
  recordSuccesses(now: number, count: number): void {
    if (now >= this.nextRollAt) this.roll(now);
    this.counts[this.offset + this.head * SLOTS + CALLS] += count;
    this.calls += count;
  }

  recordRejection(now: number): void {
    if (now >= this.nextRollAt) this.roll(now);
    this.counts[this.offset + this.head * SLOTS + REJECTIONS]++;
    this.rejections++;
  }

  /** Drops buckets that fell out of the window at `now`. A clock that went back changes nothing. */
  roll(now: number): void {
    if (now < this.nextRollAt) return;
    const epoch = Math.floor(now / this.bucketMs);
    let steps = epoch - this.headEpoch;
    if (steps >= this.size) {
      this.reset();
    } else {
      const c = this.counts;
      while (steps-- > 0) {
        this.head = this.head + 1 === this.size ? 0 : this.head + 1;
        const base = this.offset + this.head * SLOTS;
        this.calls -= c[base + CALLS];
        this.failures -= c[base + FAILURES];
        this.timeouts -= c[base + TIMEOUTS];
        this.rejections -= c[base + REJECTIONS];
        this.slowCalls -= c[base + SLOW];
        c.fill(0, base, base + SLOTS);
      }
    }
    if (epoch > this.headEpoch) this.headEpoch = epoch;
  }

  /** Empties the window (after the circuit closes, or on a manual reset). */
  clear(now: number): void {
    this.reset();
    this.headEpoch = Math.floor(now / this.bucketMs);
  }

  /** The counters as of `now` (rolls first). */
  snapshot(now: number): WindowCounts {
    this.roll(now);
    return {
      calls: this.calls,
      failures: this.failures,
      timeouts: this.timeouts,
      rejections: this.rejections,
      slowCalls: this.slowCalls,
    };
  }

  /** Moves the counters to another block (copying them). */
  moveTo(counts: Uint32Array, offset: number): void {
    const n = this.size * SLOTS;
    counts.set(this.counts.subarray(this.offset, this.offset + n), offset);
    this.counts = counts;
    this.offset = offset;
  }

  private reset(): void {
    this.counts.fill(0, this.offset, this.offset + this.size * SLOTS);
    this.calls = 0;
    this.failures = 0;
    this.timeouts = 0;
    this.rejections = 0;
    this.slowCalls = 0;
  }
}
