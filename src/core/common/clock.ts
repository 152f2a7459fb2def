/**
 * The only module that touches `Date.now`, `setTimeout` and `Math.random`.
 * Everything else takes a {@link Clock}, so tests drive time with {@link FakeClock} and never sleep.
 */
import { ConfigIssue, ReliabilityConfigError } from './errors.js';

/** An opaque timer handle returned by {@link Clock.setTimer}. @publicApi */
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
   * Returns a handle for {@link Clock.clearTimer}. Callers never pass more than
   * `MAX_TIMER_MS`; the system clock fires such a timer at that limit (never after 1 ms).
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

/**
 * The longest delay Node arms as given: a longer `setTimeout` fires after 1 ms. Every timer of this
 * module is armed for at most this long and re-armed for the rest, so a long delay neither spins
 * nor fires early.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clock.clearTimer(handle);
      reject(abortReason(signal!));
    };
    const done = (): void => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    // A delay past the timer limit is slept in steps of at most MAX_TIMER_MS.
    let rest = Math.max(0, ms);
    const step = (): void => {
      if (rest <= MAX_TIMER_MS) {
        handle = clock.setTimer(done, rest);
      } else {
        rest -= MAX_TIMER_MS;
        handle = clock.setTimer(step, MAX_TIMER_MS);
      }
    };
    let handle: TimerHandle;
    step();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The sleeps under one caller signal, and the one `abort` listener that wakes them. */
interface SignalSleeps {
  readonly sleeps: Set<AbortController>;
  readonly onAbort: () => void;
}

/**
 * Sleeps that one owner can wake all at once (a service at shutdown), without an `abort` listener
 * per sleep on a long-lived signal: each sleep sits in a set, and {@link Sleepers.wakeAll} rejects
 * them. A caller's signal shared by many sleeps (a batch's, an app-wide one) gets one listener for
 * all of them, removed when the last one ends. A signal with a listener per sleep warns past 10
 * (MaxListenersExceededWarning), and `AbortSignal.any([caller, shared])` retains every composite on
 * Node 20.
 */
export class Sleepers {
  private readonly active = new Set<AbortController>();
  private readonly bySignal = new WeakMap<AbortSignal, SignalSleeps>();
  private stopReason: { reason: unknown } | undefined = undefined;

  constructor(private readonly clock: Clock) {}

  /** Sleeps in progress. */
  get size(): number {
    return this.active.size;
  }

  /**
   * `clock.sleep(ms, signal)`, also woken by {@link Sleepers.wakeAll}. After `wakeAll`, every new
   * sleep rejects at once with the same reason.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.stopReason !== undefined) return Promise.reject(this.stopReason.reason);
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    // One controller per sleep, released when it ends; nothing is added to a shared signal.
    const own = new AbortController();
    const group = signal === undefined ? undefined : this.groupOf(signal);
    group?.sleeps.add(own);
    this.active.add(own);
    const release = (): void => {
      this.active.delete(own);
      if (group === undefined) return;
      group.sleeps.delete(own);
      if (group.sleeps.size === 0 && this.bySignal.get(signal!) === group) {
        this.bySignal.delete(signal!);
        signal!.removeEventListener('abort', group.onAbort);
      }
    };
    return this.clock.sleep(ms, own.signal).then(release, (reason: unknown) => {
      release();
      throw reason;
    });
  }

  /** Rejects every sleep in progress, and every later one, with `reason`. */
  wakeAll(reason: unknown): void {
    this.stopReason ??= { reason };
    for (const own of this.active) own.abort(this.stopReason.reason);
    this.active.clear();
  }

  /** The sleeps under `signal`, with its one listener, added by the first of them. */
  private groupOf(signal: AbortSignal): SignalSleeps {
    let group = this.bySignal.get(signal);
    if (group !== undefined) return group;
    const sleeps = new Set<AbortController>();
    const onAbort = (): void => {
      if (this.bySignal.get(signal) === group) this.bySignal.delete(signal);
      const reason = abortReason(signal);
      for (const own of sleeps) own.abort(reason);
    };
    group = { sleeps, onAbort };
    this.bySignal.set(signal, group);
    signal.addEventListener('abort', onAbort, { once: true });
    return group;
  }
}

/**
 * A `now()` for a hot path that tolerates being `resolutionMs` behind: it reads the clock once, then
 * returns that value, refreshed by one `unref`'d timer of the injected clock every `resolutionMs`
 * while calls keep coming. A refresh that saw no call since the previous one stops the timer, so
 * an idle process has none and the first call after an idle spell reads the real clock (a stale
 * value would file it in the past). {@link CoarseClock.stop} clears the timer for good.
 */
export class CoarseClock {
  private cached = 0;
  private timer: TimerHandle | undefined = undefined;
  private calledSinceRefresh = false;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    readonly resolutionMs: number,
  ) {}

  now(): number {
    if (this.timer === undefined) return this.start();
    this.calledSinceRefresh = true;
    return this.cached;
  }

  /** Clears the timer; later calls read the clock itself. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private start(): number {
    const now = this.clock.now();
    if (this.stopped) return now;
    this.cached = now;
    this.calledSinceRefresh = false;
    this.timer = this.clock.setTimer(this.refresh, this.resolutionMs);
    return now;
  }

  private readonly refresh = (): void => {
    if (!this.calledSinceRefresh) {
      this.timer = undefined;
      return;
    }
    this.calledSinceRefresh = false;
    this.cached = this.clock.now();
    this.timer = this.clock.setTimer(this.refresh, this.resolutionMs);
  };
}

/**
 * The real clock. `setTimer` timers are `unref`'d: deadlines and watchdogs never hold the process
 * open. `sleep` timers are not (see below).
 * @publicApi
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.min(ms, MAX_TIMER_MS));
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
const refTimers: Clock = { ...systemClock, setTimer: (fn, ms) => setTimeout(fn, Math.min(ms, MAX_TIMER_MS)) };

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
  /** Pending timers by id; a cleared timer leaves the heap lazily, when it reaches the top. */
  private readonly timers = new Map<number, FakeTimer>();
  /** Min-heap by deadline, then id: tens of thousands of timers cost O(log n) each. */
  private readonly heap: FakeTimer[] = [];
  private randomValues: number[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, ms), fn };
    this.timers.set(timer.id, timer);
    this.push(timer);
    return timer.id;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle as number);
    // Cleared timers mostly wait in the heap to be dropped; rebuild when they outnumber the live ones.
    if (this.heap.length > 64 && this.heap.length > 2 * this.timers.size) {
      const live = [...this.timers.values()].sort((a, b) => a.at - b.at || a.id - b.id);
      this.heap.length = 0;
      for (const timer of live) this.heap.push(timer);
    }
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
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order and letting promise callbacks
   * run between them, so that code awaiting a sleep continues before the next timer fires.
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flushMicrotasks();
      const due = this.peek();
      if (due === undefined || due.at > target) break;
      this.pop();
      this.timers.delete(due.id);
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
   * and a retry's backoffs pass in milliseconds. Rejects when `maxMs` of fake time pass first, and
   * with `ReliabilityConfigError` for a `stepMs` that is not positive and finite or a `maxMs`
   * that is not a number of at least 0 (either would loop forever).
   */
  async advanceUntilSettled<T>(
    work: PromiseLike<T>,
    { stepMs = 100, maxMs = 600_000 }: { stepMs?: number; maxMs?: number } = {},
  ): Promise<T> {
    const issues: ConfigIssue[] = [];
    if (typeof stepMs !== 'number' || !Number.isFinite(stepMs) || stepMs <= 0) {
      issues.push({
        field: 'advanceUntilSettled.stepMs',
        value: stepMs,
        expected: 'a finite number of ms above 0',
      });
    }
    if (typeof maxMs !== 'number' || Number.isNaN(maxMs) || maxMs < 0) {
      issues.push({
        field: 'advanceUntilSettled.maxMs',
        value: maxMs,
        expected: 'a number of ms of at least 0',
      });
    }
    if (issues.length > 0) throw new ReliabilityConfigError(issues);
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

  /** The earliest pending timer, dropping cleared ones from the top. */
  private peek(): FakeTimer | undefined {
    while (this.heap.length > 0 && !this.timers.has(this.heap[0].id)) this.pop();
    return this.heap[0];
  }

  private push(timer: FakeTimer): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(timer);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(timer, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = timer;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= heap.length) break;
      if (child + 1 < heap.length && before(heap[child + 1], heap[child])) child++;
      if (!before(heap[child], last)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
  }
}

function before(a: FakeTimer, b: FakeTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}

/** Lets pending promise callbacks run (several turns, for chains of awaits). @publicApi */
export async function flushMicrotasks(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
