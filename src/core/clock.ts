/**
 * The only module that touches `Date.now`, `setTimeout` and `Math.random`.
 * Everything else takes a {@link Clock}, so tests drive time with {@link FakeClock} and never sleep.
 */

/** An opaque timer handle returned by {@link Clock.setTimer}. */
export type TimerHandle = unknown;

/**
 * Time, timers and randomness, injected.
 * @publicApi
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `fn` once after `ms`. The timer never keeps the process alive (it is `unref`'d).
   * Returns a handle for {@link Clock.clearTimer}.
   */
  setTimer(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a handle that already fired or was cleared is ignored. */
  clearTimer(handle: TimerHandle): void;
  /**
   * Resolves after `ms`. When `signal` aborts first, it rejects at once with the signal's reason
   * and the timer is cleared.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A uniform random number in [0, 1). */
  random(): number;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('This operation was aborted');
}

function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clock.clearTimer(handle);
      reject(abortReason(signal!));
    };
    const handle = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The real clock. `setTimer` timers are `unref`'d: deadlines and watchdogs never hold the process
 * open. `sleep` timers are not (see below).
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimer(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
  sleep(ms, signal) {
    return sleepWith(refTimers, ms, signal);
  },
  random: () => Math.random(),
};

// A sleep is work that its caller awaits (a backoff, a connect retry): its timer keeps the process
// alive, or a script or worker with nothing else pending would exit in the middle of a retry.
// Callers that must not hold the process (shutdown) pass a signal that aborts the sleep.
const refTimers: Clock = { ...systemClock, setTimer: (fn, ms) => setTimeout(fn, ms) };

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A manual clock for tests: time moves only through {@link FakeClock.advance}.
 * Due timers fire in deadline order, with `now()` set to each timer's deadline as it fires.
 * @publicApi
 */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: FakeTimer[] = [];
  private randomValues: number[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  /** Returns queued values from {@link FakeClock.queueRandom} first, then 0.5. */
  random(): number {
    return this.randomValues.length > 0 ? this.randomValues.shift()! : 0.5;
  }

  /** Makes the next `random()` calls return these values, in order. */
  queueRandom(...values: number[]): void {
    this.randomValues.push(...values);
  }

  /** Timers not yet fired or cleared. */
  pendingTimers(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order and letting promise callbacks
   * run between them, so that code awaiting a sleep continues before the next timer fires.
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flushMicrotasks();
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = target;
    await flushMicrotasks();
  }

  /**
   * Advances time `stepMs` at a time until `work` settles, and returns its result (or rejects with
   * its error). Between steps it waits one real millisecond, so that real I/O (an HTTP request to
   * the app under test, a socket) makes progress: time runs about 100 times faster than real time,
   * and a retry's backoffs pass in milliseconds. Rejects when `maxMs` of fake time pass first.
   */
  async advanceUntilSettled<T>(
    work: PromiseLike<T>,
    { stepMs = 100, maxMs = 600_000 }: { stepMs?: number; maxMs?: number } = {},
  ): Promise<T> {
    let settled = false;
    const result = Promise.resolve(work).finally(() => {
      settled = true;
    });
    result.catch(() => undefined);
    await flushMicrotasks();
    for (let passed = 0; !settled; passed += stepMs) {
      if (passed >= maxMs)
        throw new Error(`FakeClock: the work did not settle within ${maxMs} ms of fake time`);
      await new Promise((resolve) => setTimeout(resolve, 1));
      await this.advance(stepMs);
    }
    return result;
  }
}

/** Lets pending promise callbacks run (several turns, for chains of awaits). */
export async function flushMicrotasks(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
