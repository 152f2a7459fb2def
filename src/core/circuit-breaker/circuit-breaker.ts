import type { CircuitEvents, CircuitStateChange, CircuitTransitionReason } from './events.js';
import { LATENCY_SLOTS, latencySummary, recordLatency } from './latency.js';
import type { CircuitMetrics } from './metrics.js';
import { CircuitBreakerSettings, DEFAULT_CIRCUIT_SETTINGS } from './settings.js';
import { CircuitBreakerContext, CircuitShared } from './shared.js';
import { canTransition } from './states.js';
import { tripReason } from './strategy.js';
import { TimedCall } from './timed-call.js';
import { isTimeoutLike } from '../common/error-shapes.js';
import { isCallersOwnRejection } from '../classification/failure-classification.js';
import { CircuitOpenError, CircuitState, isCircuitOpenError, TimeoutError } from '../common/errors.js';
import { RollingWindow } from '../common/rolling-window.js';
import type { Deadline } from '../common/deadline.js';
import { isThenable } from '../common/is-thenable.js';

/** The function a circuit runs. It may ignore the signal; then it pays for no `AbortController`. @publicApi */
export type CircuitFn<T> = (signal: AbortSignal) => T | PromiseLike<T>;
/** Per-call options of {@link CircuitBreaker.execute}. @publicApi */
export interface CircuitCallOptions {
  /**
   * Whether `fn` gets an `AbortSignal` (its own `AbortController`, aborted on timeout). `true`
   * always passes one, `false` never does. Unset, the declared parameter count decides: a
   * function that declares a parameter gets one. `(...args) => …`, a defaulted first parameter and
   * `jest.fn()` declare none, so pass `signal: true` for them.
   * @default fn.length > 0
   */
  signal?: boolean;
}
/** Serves instead of the call when the circuit rejects, the call times out or fails with a counted failure. @publicApi */
export type CircuitFallback<T> = (error: unknown) => T | PromiseLike<T>;

export { CircuitShared };
export type { CircuitBreakerContext };

// A clock read costs about as much as the rest of the closed path. Every call reads the clock at
// its end, so each outcome is filed in the bucket of the time it happened. Only latency is sampled:
// a call also reads the clock at its start (to be timed) while the circuit is young (its first 256
// calls), when it is a probe, when the window holds a failure, with slow-call detection
// or an outcome listener, and otherwise one call in 32.
const YOUNG_CALLS = 256;
const SAMPLE_MASK = 31;

const SETTING_KEYS = Object.keys(DEFAULT_CIRCUIT_SETTINGS) as (keyof CircuitBreakerSettings)[];

interface FastHandlers {
  ok: (value: any) => any;
  fail: (error: unknown) => any;
}

function blockSize(s: CircuitBreakerSettings): number {
  return LATENCY_SLOTS + RollingWindow.slots(s.rollingBuckets);
}

function isComplete(settings: Partial<CircuitBreakerSettings>): settings is CircuitBreakerSettings {
  return SETTING_KEYS.every((key) => settings[key] !== undefined);
}

/**
 * One circuit: a rolling window, the CLOSED / OPEN / HALF_OPEN state machine and the per-call
 * timeout. Framework-free; the clock is injected. Time only moves on calls and reads: the circuit
 * owns no timer (OPEN → HALF_OPEN is checked lazily) and timeouts share one deadline timer.
 * @publicApi
 */
export class CircuitBreaker {
  readonly settings: CircuitBreakerSettings;
  private readonly shared: CircuitShared;
  private readonly window: RollingWindow;
  /** The counter block (latency histogram, then window) and where it starts. */
  private counts: Uint32Array;
  private base: number;

  private state: CircuitState = 'CLOSED';
  /** True when a call must pass admission (OPEN or HALF_OPEN, and not disabled). */
  private gated = false;
  private disabled = false;
  private forced = false;
  /**
   * Bumped on every transition and whenever the window is emptied by hand (`close()`, `reset()`,
   * `enable()`): a call that started in an older generation changes no state and files nothing.
   */
  private generation = 0;
  private openUntil = 0;
  private stateSince: number;
  private lastChange: CircuitStateChange | undefined = undefined;
  private probesInFlight = 0;
  private probeSuccesses = 0;
  /** Start times of the probes in flight (at most `halfOpenMaxCalls`), to tell a stuck one. */
  private probeStarts: number[] = [];
  /** Calls started (or admitted as probes): drives the young-circuit rule and the sampling. */
  private tick = 0;
  /** Handlers shared by the untimed calls of one generation, made when the circuit gets busy. */
  private fast: FastHandlers | undefined = undefined;

  /** Calls running now. */
  inFlight = 0;
  /** Clock time of the last call's end (or rejection); idle eviction reads it. */
  lastUsedAt: number;

  private totalSuccesses = 0;
  private totalFailures = 0;
  private totalTimeouts = 0;
  private totalIgnored = 0;
  private totalRejections = 0;
  private totalSlow = 0;
  private totalFallbacks = 0;

  constructor(
    readonly name: string,
    settings: Partial<CircuitBreakerSettings> = {},
    context: CircuitBreakerContext | CircuitShared = {},
  ) {
    // A complete settings object is kept as it is, so that circuits with the same settings share it.
    const s = isComplete(settings) ? settings : { ...DEFAULT_CIRCUIT_SETTINGS, ...settings };
    this.settings = s;
    this.shared = context instanceof CircuitShared ? context : new CircuitShared(context);
    const now = this.shared.clock.now();
    this.stateSince = now;
    this.lastUsedAt = now;
    const block = this.shared.slab.alloc(blockSize(s));
    this.counts = block.array;
    this.base = block.base;
    this.window = new RollingWindow(
      s.rollingWindow,
      s.rollingBuckets,
      now,
      block.array,
      block.base + LATENCY_SLOTS,
    );
  }

  /** The listeners this circuit reports to (shared with its registry). */
  get events(): CircuitEvents {
    return this.shared.events;
  }

  /**
   * @internal Takes over the manual state (held open, disabled) of a circuit that this one replaces
   * before it ran any call, without emitting a transition: nothing changed for its users.
   */
  copyManualState(from: CircuitBreaker): void {
    this.state = from.state;
    this.forced = from.forced;
    this.disabled = from.disabled;
    this.gated = from.gated;
    this.openUntil = from.openUntil;
    this.stateSince = from.stateSince;
    this.lastChange = from.lastChange;
    this.generation = from.generation + 1;
  }

  /**
   * Called when a registry drops the circuit: hands its counter block back for reuse, after moving
   * the counters to a private block, so that a caller still holding this object cannot write into
   * a block that another circuit now uses.
   */
  retire(): void {
    const size = blockSize(this.settings);
    const own = new Uint32Array(size);
    const old = { array: this.counts, base: this.base };
    own.set(this.counts.subarray(this.base, this.base + LATENCY_SLOTS));
    this.window.moveTo(own, LATENCY_SLOTS);
    this.counts = own;
    this.base = 0;
    this.shared.slab.free(size, old);
  }

  /**
   * Runs `fn` through the circuit. Rejects at once with {@link CircuitOpenError} when open, with
   * {@link TimeoutError} after `timeout`; `fallback` serves in those cases and on a counted
   * failure. Errors that do not count pass through unchanged. `options.signal` decides whether
   * `fn` gets an `AbortSignal` (see {@link CircuitCallOptions}).
   */
  execute<T>(fn: CircuitFn<T>, fallback?: CircuitFallback<T>, options?: CircuitCallOptions): Promise<T> {
    // The hot path, kept small so that it optimises well: closed, no timeout, no fallback, and a
    // call that is not timed. Everything else goes through `run()`.
    const s = this.settings;
    const n = ++this.tick;
    const withSignal = options?.signal ?? fn.length !== 0;
    if (
      this.gated ||
      fallback !== undefined ||
      s.timeout > 0 ||
      n <= YOUNG_CALLS ||
      (n & SAMPLE_MASK) === 0 ||
      this.window.failures > 0 ||
      s.slowCallThreshold > 0 ||
      this.shared.events.outcomeListeners.length > 0 ||
      withSignal
    ) {
      return this.run(fn, fallback, n, withSignal);
    }
    this.inFlight++;
    let result: T | PromiseLike<T>;
    try {
      result = (fn as () => T | PromiseLike<T>)();
    } catch (error) {
      return this.failedSync(error, -1, this.generation, false, undefined);
    }
    if (result instanceof Promise) {
      const fast = this.fast ?? this.makeFastHandlers();
      return result.then(fast.ok, fast.fail);
    }
    return this.settleUntimed(result);
  }

  /** Every call but the hot path's: admission, timing, timeouts, fallbacks, signals. */
  private run<T>(
    fn: CircuitFn<T>,
    fallback: CircuitFallback<T> | undefined,
    n: number,
    withSignal: boolean,
  ): Promise<T> {
    let t0 = -1;
    let probe = false;
    if (this.gated) {
      t0 = this.shared.clock.now();
      if (!this.admit(t0)) return this.rejectCall(t0, fallback);
      probe = this.state === 'HALF_OPEN';
    }
    const s = this.settings;
    const timed =
      probe ||
      n <= YOUNG_CALLS ||
      (n & SAMPLE_MASK) === 0 ||
      this.window.failures > 0 ||
      s.slowCallThreshold > 0 ||
      this.shared.events.outcomeListeners.length > 0;
    if (t0 < 0 && (timed || s.timeout > 0)) t0 = this.shared.clock.now();
    this.inFlight++;
    const gen = this.generation;
    if (probe) this.probeStarts.push(t0);
    if (s.timeout > 0) return this.runTimed(fn, fallback, t0, gen, probe, timed, withSignal);

    let result: T | PromiseLike<T>;
    try {
      result = withSignal ? fn(new AbortController().signal) : (fn as () => T | PromiseLike<T>)();
    } catch (error) {
      return this.failedSync(error, timed ? t0 : -1, gen, probe, fallback);
    }
    if (result instanceof Promise || isThenable(result)) {
      const promise = result instanceof Promise ? (result as Promise<T>) : Promise.resolve(result);
      if (!timed && fallback === undefined) {
        const fast = this.fast ?? this.makeFastHandlers();
        return promise.then(fast.ok, fast.fail);
      }
      return promise.then(
        (value) => (timed ? this.onSuccess(value, t0, gen, probe) : this.onUntimedSuccess(value, gen)),
        (error: unknown) => this.onFailure(error, timed ? t0 : -1, gen, probe, fallback),
      );
    }
    if (timed) this.onSuccess(result, t0, gen, probe);
    else this.onUntimedSuccess(result, gen);
    return Promise.resolve(result);
  }

  /** A plain value (or a non-native thenable) returned on the hot path. */
  private settleUntimed<T>(result: T | PromiseLike<T>): Promise<T> {
    const gen = this.generation;
    if (isThenable<T>(result)) {
      return Promise.resolve(result).then(
        (value) => this.onUntimedSuccess(value, gen),
        (error: unknown) => this.onFailure(error, -1, gen, false, undefined),
      );
    }
    this.onUntimedSuccess(result, gen);
    return Promise.resolve(result);
  }

  /** The state now (applies the lazy OPEN → HALF_OPEN check). */
  getState(now = this.shared.clock.now()): CircuitState {
    this.refresh(now);
    return this.state;
  }

  /** Holds the circuit open, rejecting every call, until `close()`, `reset()` or `disable()`. */
  open(): void {
    const now = this.shared.clock.now();
    this.disabled = false;
    this.forced = true;
    this.transition('OPEN', now, 'manual-open');
    this.gated = true;
  }

  /** Closes the circuit with an empty window; calls started before it count nothing in the new one. */
  close(): void {
    const now = this.shared.clock.now();
    this.forced = false;
    if (this.state === 'CLOSED') this.clearWindow(now);
    else this.transition('CLOSED', now, 'manual-close');
  }

  /**
   * Back to new: closed, enabled, window, totals and latency cleared. Calls started before it
   * still end (and count in the totals) but file nothing into the new window and change no state.
   */
  reset(): void {
    const now = this.shared.clock.now();
    this.forced = false;
    this.disabled = false;
    if (this.state !== 'CLOSED') this.transition('CLOSED', now, 'reset');
    else this.clearWindow(now);
    this.counts.fill(0, this.base, this.base + LATENCY_SLOTS);
    this.tick = this.totalSuccesses = this.totalFailures = this.totalTimeouts = 0;
    this.totalIgnored = this.totalRejections = this.totalSlow = this.totalFallbacks = 0;
  }

  /** Lets every call through and never trips (timeouts and fallbacks still apply), until `enable()`. */
  disable(): void {
    const now = this.shared.clock.now();
    this.forced = false;
    this.disabled = true;
    this.transition('CLOSED', now, 'disabled');
    this.gated = false;
  }

  /** Ends `disable()`, closed with an empty window. */
  enable(): void {
    if (!this.disabled) return;
    this.disabled = false;
    this.clearWindow(this.shared.clock.now());
  }

  /** Empties the window and starts a new generation, so that older calls file nothing into it. */
  private clearWindow(now: number): void {
    this.generation++;
    this.fast = undefined;
    this.window.clear(now);
  }

  get isDisabled(): boolean {
    return this.disabled;
  }

  /**
   * True when the circuit may be dropped: unused for `idleMs`, nothing in flight, not held by hand
   * (`open()`, `disable()`), and, when open, past its `resetTimeout` (so that dropping it lets no
   * call through sooner than the circuit would have). An idle open or half-open circuit goes too:
   * with one circuit per host, hosts that went away must not pile up.
   */
  isEvictable(now: number, idleMs: number): boolean {
    if (this.forced || this.disabled || this.inFlight > 0 || now - this.lastUsedAt < idleMs) return false;
    return this.state !== 'OPEN' || now >= this.openUntil;
  }

  /** The window's counts as they stand, without rolling it or changing anything (for log lines). */
  peekWindow(): { calls: number; failures: number; slowCalls: number } {
    const w = this.window;
    return { calls: w.calls, failures: w.failures, slowCalls: w.slowCalls };
  }

  metrics(now = this.shared.clock.now()): CircuitMetrics {
    this.refresh(now);
    const w = this.window;
    w.roll(now);
    return {
      name: this.name,
      state: this.state,
      disabled: this.disabled,
      forcedOpen: this.forced,
      windowMs: this.settings.rollingWindow,
      calls: w.calls,
      failures: w.failures,
      timeouts: w.timeouts,
      rejections: w.rejections,
      slowCalls: w.slowCalls,
      failureRate: w.calls === 0 ? 0 : w.failures / w.calls,
      slowCallRate: w.calls === 0 ? 0 : w.slowCalls / w.calls,
      inFlight: this.inFlight,
      totals: {
        calls: this.totalSuccesses + this.totalFailures + this.totalIgnored,
        successes: this.totalSuccesses,
        failures: this.totalFailures,
        timeouts: this.totalTimeouts,
        ignored: this.totalIgnored,
        rejections: this.totalRejections,
        slowCalls: this.totalSlow,
        fallbacks: this.totalFallbacks,
      },
      stateSince: this.stateSince,
      lastStateChange: this.lastChange,
      nextAttemptAt: this.state === 'OPEN' && !this.forced ? this.openUntil : undefined,
      latency: latencySummary(this.counts, this.base),
    };
  }

  // ---- admission -------------------------------------------------------------------------

  private refresh(now: number): void {
    if (this.state === 'OPEN' && !this.forced && now >= this.openUntil) {
      this.transition('HALF_OPEN', now, 'reset-timeout');
    }
  }

  /** OPEN or HALF_OPEN: may this call run (as a probe)? */
  private admit(now: number): boolean {
    this.refresh(now);
    if (this.state !== 'HALF_OPEN') return false;
    if (this.probesInFlight + this.probeSuccesses >= this.settings.halfOpenMaxCalls) {
      // A probe that never answers would hold its slot for ever and keep the circuit half-open. It
      // counts as stuck once its own timeout has passed (the circuit's, else the one its caller
      // enforces, else resetTimeout), never earlier: a slow but healthy probe must still be able
      // to close the circuit.
      const s = this.settings;
      const limit = s.timeout > 0 ? s.timeout : s.externalTimeout > 0 ? s.externalTimeout : s.resetTimeout;
      if (this.probesInFlight > 0 && now - this.oldestProbeStart() >= limit) {
        this.transition('OPEN', now, 'probe-stuck');
      }
      return false;
    }
    this.probesInFlight++;
    return true;
  }

  private oldestProbeStart(): number {
    let oldest = Infinity;
    for (const t of this.probeStarts) if (t < oldest) oldest = t;
    return oldest;
  }

  /** A probe of the current generation ended: frees its slot. */
  private releaseProbe(t0: number): void {
    this.probesInFlight--;
    const i = this.probeStarts.indexOf(t0);
    if (i >= 0) this.probeStarts.splice(i, 1);
  }

  private rejectCall<T>(now: number, fallback: CircuitFallback<T> | undefined): Promise<T> {
    const retryAfter =
      this.state !== 'OPEN' ? 0 : this.forced ? this.settings.resetTimeout : this.openUntil - now;
    const error = new CircuitOpenError(this.name, this.state, retryAfter);
    this.totalRejections++;
    this.lastUsedAt = now;
    this.window.recordRejection(now);
    if (this.shared.events.outcomeListeners.length > 0) {
      this.shared.events.emitOutcome({ name: this.name, outcome: 'rejected', durationMs: 0, error });
    }
    if (fallback) return this.serveFallback(fallback, error);
    // Rejected one microtask later, once the caller's `await` or `.catch` is attached: a promise
    // born rejected goes through Node's unhandled-rejection bookkeeping, which costs more than
    // the rest of this path.
    return new Promise<T>((_, reject) => queueMicrotask(() => reject(error)));
  }

  private serveFallback<T>(fallback: CircuitFallback<T>, error: unknown): Promise<T> {
    this.totalFallbacks++;
    try {
      return Promise.resolve(fallback(error));
    } catch (fallbackError) {
      return Promise.reject(fallbackError);
    }
  }

  // ---- outcomes --------------------------------------------------------------------------

  private makeFastHandlers(): FastHandlers {
    const gen = this.generation;
    this.fast = {
      ok: (value) => this.onUntimedSuccess(value, gen),
      fail: (error) => this.onFailure(error, -1, gen, false, undefined),
    };
    return this.fast;
  }

  /** @internal A success that was not timed: no clock read (see SAMPLE_MASK). */
  onUntimedSuccess<T>(value: T, gen: number): T {
    this.inFlight--;
    this.totalSuccesses++;
    // One clock read, at the end: the success is filed in the bucket of the time it happened.
    const now = this.shared.clock.now();
    this.lastUsedAt = now;
    if (gen === this.generation) this.window.recordSuccesses(now, 1);
    if (this.shared.events.outcomeListeners.length > 0) {
      this.shared.events.emitOutcome({ name: this.name, outcome: 'success', durationMs: 0 });
    }
    return value;
  }

  /** @internal Records a success; returns `value`. */
  onSuccess<T>(value: T, t0: number, gen: number, probe: boolean): T {
    const now = this.shared.clock.now();
    this.inFlight--;
    this.lastUsedAt = now;
    this.totalSuccesses++;
    let duration = -1;
    let slow = false;
    if (t0 >= 0) {
      duration = now - t0;
      recordLatency(this.counts, this.base, duration);
      const slowMs = this.settings.slowCallThreshold;
      if (slowMs > 0 && duration >= slowMs) {
        slow = true;
        this.totalSlow++;
      }
    }
    if (gen === this.generation) {
      this.window.record(now, false, false, slow);
      if (probe) this.probeEnded(!slow, now, t0);
      else if (this.window.failures > 0 || this.window.slowCalls > 0) this.evaluate(now);
    }
    if (this.shared.events.outcomeListeners.length > 0) {
      this.shared.events.emitOutcome({
        name: this.name,
        outcome: 'success',
        durationMs: duration < 0 ? 0 : duration,
      });
    }
    return value;
  }

  /** @internal Classifies and records an error; returns the fallback's result or throws. */
  onFailure<T>(
    error: unknown,
    t0: number,
    gen: number,
    probe: boolean,
    fallback: CircuitFallback<T> | undefined,
  ): T | PromiseLike<T> {
    const counted = this.isCounted(error);
    const now = this.shared.clock.now();
    this.inFlight--;
    this.lastUsedAt = now;
    const duration = t0 >= 0 ? now - t0 : -1;
    if (duration >= 0) recordLatency(this.counts, this.base, duration);
    if (!counted) {
      this.totalIgnored++;
      if (probe && gen === this.generation) this.releaseProbe(t0); // neither success nor failure
      this.emitOutcome('ignored', duration, isCallersOwnRejection(error) ? error.error : error);
      throw error;
    }
    const slowMs = this.settings.slowCallThreshold;
    const slow = slowMs > 0 && duration >= slowMs;
    // A timeout from outside (a route's total timeout, an inner circuit, `AbortSignal.timeout()`)
    // is counted like this circuit's own.
    const timeout = isTimeoutLike(error);
    this.totalFailures++;
    if (timeout) this.totalTimeouts++;
    if (slow) this.totalSlow++;
    if (gen === this.generation) {
      this.window.record(now, true, timeout, slow);
      if (probe) this.probeEnded(false, now, t0);
      else this.evaluate(now);
    }
    this.emitOutcome(timeout ? 'timeout' : 'failure', duration, error);
    if (fallback) {
      this.totalFallbacks++;
      return fallback(error);
    }
    throw error;
  }

  /**
   * Whether an error counts against this circuit. Another circuit's `CircuitOpenError` never does,
   * whatever `isFailure` says: that circuit is protecting its dependency, and counting its fast
   * rejections here would keep this circuit open after the dependency has recovered. Nor does a
   * route's `CallersOwnRejection` (its handler's own 4xx): one client's 429s must not open
   * the circuit for every client.
   */
  private isCounted(error: unknown): boolean {
    if (isCircuitOpenError(error) && error.circuit !== this.name) return false;
    if (isCallersOwnRejection(error)) return false;
    try {
      return this.settings.isFailure(error) !== false;
    } catch {
      return true; // a broken classifier must not hide an outage
    }
  }

  /** @internal Records a timeout; returns the fallback's result or throws the TimeoutError. */
  onTimeout<T>(
    error: TimeoutError,
    now: number,
    t0: number,
    gen: number,
    probe: boolean,
    fallback: CircuitFallback<T> | undefined,
  ): T | PromiseLike<T> {
    this.inFlight--;
    this.lastUsedAt = now;
    this.totalFailures++;
    this.totalTimeouts++;
    const duration = now - t0;
    recordLatency(this.counts, this.base, duration);
    const slowMs = this.settings.slowCallThreshold;
    const slow = slowMs > 0 && duration >= slowMs;
    if (slow) this.totalSlow++;
    if (gen === this.generation) {
      this.window.record(now, true, true, slow);
      if (probe) this.probeEnded(false, now, t0);
      else this.evaluate(now);
    }
    this.emitOutcome('timeout', duration, error);
    if (fallback) {
      this.totalFallbacks++;
      return fallback(error);
    }
    throw error;
  }

  private emitOutcome(outcome: 'failure' | 'timeout' | 'ignored', duration: number, error: unknown): void {
    if (this.shared.events.outcomeListeners.length === 0) return;
    this.shared.events.emitOutcome({
      name: this.name,
      outcome,
      durationMs: duration < 0 ? 0 : duration,
      error,
    });
  }

  private failedSync<T>(
    error: unknown,
    t0: number,
    gen: number,
    probe: boolean,
    fallback: CircuitFallback<T> | undefined,
  ): Promise<T> {
    try {
      return Promise.resolve(this.onFailure(error, t0, gen, probe, fallback));
    } catch (thrown) {
      return Promise.reject(thrown);
    }
  }

  private probeEnded(ok: boolean, now: number, t0: number): void {
    this.releaseProbe(t0);
    if (!ok) {
      this.transition('OPEN', now, 'probe-failed');
      return;
    }
    if (++this.probeSuccesses >= this.settings.halfOpenMaxCalls) {
      this.transition('CLOSED', now, 'probe-succeeded');
    }
  }

  private evaluate(now: number): void {
    if (this.state !== 'CLOSED' || this.disabled) return;
    const reason = tripReason(this.settings, this.window);
    if (reason) this.transition('OPEN', now, reason);
  }

  private transition(to: CircuitState, now: number, reason: CircuitTransitionReason): void {
    const from = this.state;
    if (from === to) return;
    if (!canTransition(from, to)) throw new Error(`Circuit "${this.name}": no transition ${from} → ${to}`);
    this.state = to;
    this.generation++;
    this.fast = undefined;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    if (this.probeStarts.length > 0) this.probeStarts = [];
    this.stateSince = now;
    this.gated = to !== 'CLOSED' && !this.disabled;
    if (to === 'OPEN') this.openUntil = now + this.settings.resetTimeout;
    if (to === 'CLOSED') this.window.clear(now);
    const event: CircuitStateChange = { name: this.name, from, to, at: now, reason };
    this.lastChange = event;
    if (this.shared.events.stateListeners.length > 0) this.shared.events.emitState(event);
  }

  // ---- timeouts --------------------------------------------------------------------------

  private runTimed<T>(
    fn: CircuitFn<T>,
    fallback: CircuitFallback<T> | undefined,
    t0: number,
    gen: number,
    probe: boolean,
    timed: boolean,
    withSignal: boolean,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const controller = withSignal ? new AbortController() : undefined;
      const call = new TimedCall<T>(this, resolve, reject, fallback, t0, gen, probe, timed, controller);
      this.shared.deadlines.add(call, this.settings.timeout, t0);
      let result: T | PromiseLike<T>;
      try {
        result = controller ? fn(controller.signal) : (fn as () => T | PromiseLike<T>)();
      } catch (error) {
        call.fail(error);
        return;
      }
      if (result instanceof Promise || isThenable(result)) {
        Promise.resolve(result).then(
          (value) => call.ok(value),
          (error: unknown) => call.fail(error),
        );
      } else {
        call.ok(result);
      }
    });
  }

  /** @internal */
  cancelDeadline(call: Deadline): void {
    this.shared.deadlines.cancel(call);
  }
}
