/**
 * Framework-free pieces of the route pipeline: an abort scope whose `AbortSignal` is created only
 * when someone asks for it, and a deadline on the shared timer of `core/timeout.ts`.
 *
 * Why lazy: on Node 20, creating an `AbortController` and reading its `signal` costs microseconds,
 * a few per cent of a whole HTTP request. Most handlers never look at the signal, so they should
 * not pay for one; a handler that does (`@ResilienceSignal()`) gets a real signal, already aborted
 * if the scope was.
 */
import type { Clock } from '../common/clock.js';
import { TimeoutError } from '../common/errors.js';
import { Deadline, deadlineTimerFor, DeadlineTimer } from '../common/deadline.js';

/** One attempt's (or one request's) cancellation: aborted on timeout, lazily backed by a signal. */
export class AbortScope {
  aborted = false;
  reason: unknown = undefined;
  /** Called once, when aborted: e.g. unsubscribes the handler's Observable. */
  onAbort: (() => void) | undefined = undefined;
  /** The scope of the attempt in flight, aborted with this one (a request's total timeout). */
  child: AbortScope | undefined = undefined;
  private controller: AbortController | undefined = undefined;

  /** The signal of this scope, created on first read. */
  get signal(): AbortSignal {
    let controller = this.controller;
    if (controller === undefined) {
      controller = this.controller = new AbortController();
      if (this.aborted) controller.abort(this.reason);
    }
    return controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    const onAbort = this.onAbort;
    this.onAbort = undefined;
    if (onAbort !== undefined) {
      try {
        onAbort();
      } catch {
        // Tearing down the handler must not change which error the caller sees.
      }
    }
    this.child?.abort(reason);
  }
}

/** The timeouts raised by route pipelines: mapped to 504, never confused with a handler's own. */
const OWN_TIMEOUTS = new WeakSet<object>();

/** True when `error` is a timeout raised by a route's `timeoutMs` or `totalTimeoutMs`. */
export function isOwnTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && OWN_TIMEOUTS.has(error);
}

/** Where expired deadlines are counted (a route's metrics). */
export interface TimeoutCounter {
  timeouts: number;
}

/** Marks a timeout raised by one of a route's layers (the circuit's own timeout). */
export function markOwnTimeout(error: object): void {
  OWN_TIMEOUTS.add(error);
}

class ScopedRun<T> extends Deadline {
  settled = false;

  constructor(
    readonly resolve: (value: T) => void,
    readonly reject: (reason: unknown) => void,
    readonly timer: DeadlineTimer,
    readonly ms: number,
    readonly operation: string,
    readonly scope: AbortScope,
    readonly counter: TimeoutCounter | undefined,
  ) {
    super();
  }

  finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.timer.cancel(this);
    return true;
  }

  expire(): void {
    if (!this.finish()) return;
    const error = new TimeoutError(this.ms, this.operation);
    OWN_TIMEOUTS.add(error);
    if (this.counter !== undefined) this.counter.timeouts++;
    this.reject(error);
    this.scope.abort(error);
  }
}

/**
 * Runs `fn` with a deadline of `ms` (`ms <= 0`: none). On expiry it rejects with a
 * {@link TimeoutError}, counts it in `counter` and aborts `scope` with it; a late result is ignored.
 */
export function runScoped<T>(
  fn: () => PromiseLike<T>,
  ms: number,
  clock: Clock,
  scope: AbortScope,
  operation: string,
  counter?: TimeoutCounter,
): Promise<T> {
  if (ms <= 0) {
    try {
      const result = fn();
      return result instanceof Promise ? result : Promise.resolve(result);
    } catch (error) {
      return Promise.reject(error);
    }
  }
  return new Promise<T>((resolve, reject) => {
    // A lapsing timer: back-to-back requests cost no clock timer set and clear each.
    const timer = deadlineTimerFor(clock, true);
    const run = new ScopedRun<T>(resolve, reject, timer, ms, operation, scope, counter);
    timer.add(run, ms, clock.now());
    let result: PromiseLike<T>;
    try {
      result = fn();
    } catch (error) {
      if (run.finish()) reject(error);
      return;
    }
    result.then(
      (value) => {
        if (run.finish()) resolve(value);
      },
      (error: unknown) => {
        if (run.finish()) reject(error);
      },
    );
  });
}
