import { Clock, MAX_TIMER_MS, TimerHandle } from './clock.js';
import { TimeoutError } from './errors.js';

/**
 * Per-call timeouts without a timer per call. Every pending deadline of one clock sits in one
 * binary min-heap behind a single clock timer, armed for the earliest deadline. Settling a call
 * withdraws its deadline in O(log n), and N calls in flight share one timer instead of N.
 *
 * When the last deadline is withdrawn, an eager timer clears its clock timer at once (what
 * `runWithTimeout` uses: nothing is left pending after a call). A lapsing timer (what circuits use)
 * leaves it armed: it fires once, finds nothing due and stops. One call after another then costs
 * no timer operation at all, instead of a set and a clear per call, and an idle process still ends
 * up with no timer and no CPU use. Clock timers are `unref`'d, so neither holds the process open.
 */

/** A pending deadline. Subclasses say what happens when it passes. */
export abstract class Deadline {
  /** When the deadline passes, in clock ms. */
  deadlineAt = 0;
  /** Position in the heap; -1 when not scheduled. */
  heapIndex = -1;
  /** Called once, from the timer, when the deadline passed. Must not throw. */
  abstract expire(now: number): void;
}

export class DeadlineTimer {
  private readonly heap: Deadline[] = [];
  private handle: TimerHandle | undefined = undefined;
  private armedAt = Infinity;
  private readonly fire = (): void => this.onTimer();

  constructor(
    private readonly clock: Clock,
    /** Leave the clock timer to lapse when the last deadline goes, rather than clear it. */
    private readonly lapse = false,
  ) {}

  /** Deadlines not yet passed or cancelled. */
  get size(): number {
    return this.heap.length;
  }

  /** Schedules `entry` to expire `ms` after `now`. */
  add(entry: Deadline, ms: number, now: number): void {
    entry.deadlineAt = now + ms;
    const heap = this.heap;
    entry.heapIndex = heap.length;
    heap.push(entry);
    this.up(entry.heapIndex);
    if (entry.deadlineAt < this.armedAt) this.arm(entry.deadlineAt, now);
  }

  /** Withdraws a deadline (its call settled). A deadline already expired or cancelled is ignored. */
  cancel(entry: Deadline): void {
    const i = entry.heapIndex;
    if (i < 0) return;
    entry.heapIndex = -1;
    const heap = this.heap;
    const last = heap.pop()!;
    if (last !== entry) {
      heap[i] = last;
      last.heapIndex = i;
      this.down(i);
      this.up(last.heapIndex);
    }
    // An earlier-armed timer with entries left simply fires early, finds nothing due and re-arms.
    if (heap.length === 0 && !this.lapse) this.clearIfIdle();
  }

  /** Clears the clock timer when no deadline is pending (a lapsing timer's shutdown). */
  clearIfIdle(): void {
    if (this.heap.length === 0 && this.handle !== undefined) {
      this.clock.clearTimer(this.handle);
      this.handle = undefined;
      this.armedAt = Infinity;
    }
  }

  private arm(at: number, now: number): void {
    if (this.handle !== undefined) this.clock.clearTimer(this.handle);
    // Armed at most MAX_TIMER_MS ahead (Node fires a longer timer after 1 ms, which would spin):
    // a farther deadline is reached by firing at the cap, finding nothing due and re-arming.
    const ms = Math.min(MAX_TIMER_MS, Math.max(0, at - now));
    this.armedAt = now + ms;
    this.handle = this.clock.setTimer(this.fire, ms);
  }

  private onTimer(): void {
    this.handle = undefined;
    this.armedAt = Infinity;
    const now = this.clock.now();
    const due: Deadline[] = [];
    const heap = this.heap;
    while (heap.length > 0 && heap[0].deadlineAt <= now) {
      const top = heap[0];
      this.cancel(top);
      due.push(top);
    }
    // Re-arm before running the expiries: they run user code that may schedule new deadlines.
    if (heap.length > 0) this.arm(heap[0].deadlineAt, now);
    for (const entry of due) entry.expire(now);
  }

  private up(i: number): void {
    const heap = this.heap;
    const entry = heap[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].deadlineAt <= entry.deadlineAt) break;
      heap[i] = heap[parent];
      heap[i].heapIndex = i;
      i = parent;
    }
    heap[i] = entry;
    entry.heapIndex = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const entry = heap[i];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1].deadlineAt < heap[child].deadlineAt) child++;
      if (heap[child].deadlineAt >= entry.deadlineAt) break;
      heap[i] = heap[child];
      heap[i].heapIndex = i;
      i = child;
    }
    heap[i] = entry;
    entry.heapIndex = i;
  }
}

const eagerTimers = new WeakMap<Clock, DeadlineTimer>();
const lapsingTimers = new WeakMap<Clock, DeadlineTimer>();

/** The shared deadline timer of `clock` (created on first use); `lapse`: see {@link DeadlineTimer}. */
export function deadlineTimerFor(clock: Clock, lapse = false): DeadlineTimer {
  const timers = lapse ? lapsingTimers : eagerTimers;
  let timer = timers.get(clock);
  if (timer === undefined) {
    timer = new DeadlineTimer(clock, lapse);
    timers.set(clock, timer);
  }
  return timer;
}

class TimedRun<T> extends Deadline {
  settled = false;
  onParentAbort: (() => void) | undefined = undefined;

  constructor(
    readonly resolve: (value: T | PromiseLike<T>) => void,
    readonly reject: (reason: unknown) => void,
    readonly timer: DeadlineTimer,
    readonly ms: number,
    readonly operation: string | undefined,
    readonly controller: AbortController | undefined,
    readonly parent: AbortSignal | undefined,
  ) {
    super();
  }

  /** Marks the run settled; false when it already was (a late result after a timeout). */
  finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.timer.cancel(this);
    if (this.onParentAbort) this.parent!.removeEventListener('abort', this.onParentAbort);
    return true;
  }

  expire(): void {
    if (!this.finish()) return;
    const error = new TimeoutError(this.ms, this.operation);
    this.controller?.abort(error);
    this.reject(error);
  }
}

/**
 * Runs `fn`, rejecting with {@link TimeoutError} after `ms` (`ms <= 0`: no timeout). A function
 * that takes an argument gets its own `AbortSignal`, aborted on timeout and when `parent` aborts,
 * so that the work itself stops; a function that takes none pays for no `AbortController`.
 * The deadline is always withdrawn when the call settles, and a late result is ignored.
 * When `parent` aborts first, the promise rejects with its reason.
 * @publicApi
 */
export function runWithTimeout<T>(
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  ms: number,
  clock: Clock,
  operation?: string,
  parent?: AbortSignal,
): Promise<T> {
  if (parent?.aborted) return Promise.reject(parent.reason);
  const controller = fn.length > 0 ? new AbortController() : undefined;
  if (ms <= 0 && parent === undefined) {
    try {
      return Promise.resolve(controller ? fn(controller.signal) : (fn as () => T | PromiseLike<T>)());
    } catch (error) {
      return Promise.reject(error);
    }
  }
  return new Promise<T>((resolve, reject) => {
    const timer = deadlineTimerFor(clock);
    const run = new TimedRun<T>(resolve, reject, timer, ms, operation, controller, parent);
    if (parent) {
      run.onParentAbort = () => {
        if (!run.finish()) return;
        controller?.abort(parent.reason);
        reject(parent.reason);
      };
      parent.addEventListener('abort', run.onParentAbort, { once: true });
    }
    if (ms > 0) timer.add(run, ms, clock.now());
    let result: T | PromiseLike<T>;
    try {
      result = controller ? fn(controller.signal) : (fn as () => T | PromiseLike<T>)();
    } catch (error) {
      if (run.finish()) reject(error);
      return;
    }
    Promise.resolve(result).then(
      (value) => {
        if (run.finish()) resolve(value);
      },
      (error: unknown) => {
        if (run.finish()) reject(error);
      },
    );
  });
}
