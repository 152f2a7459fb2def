import type { CircuitStateChange } from './events.js';
import type { CircuitState } from '../common/errors.js';
import type { LatencySummary } from '../common/latency-histogram.js';

/** Counters since the circuit was created or last `reset()`. @publicApi */
export interface CircuitTotals {
  /** Calls that ran: successes + failures (timeouts included) + ignored. Rejections are not calls. */
  calls: number;
  successes: number;
  /** Counted failures, timeouts included. */
  failures: number;
  timeouts: number;
  /** Calls that failed with an error that does not count (a 404, the caller's abort...). */
  ignored: number;
  rejections: number;
  slowCalls: number;
  /** Times a fallback was served. */
  fallbacks: number;
}

/**
 * A snapshot of one circuit. Window fields (`calls`, `failures`, ...) cover the rolling window;
 * `totals` the circuit's lifetime.
 * @publicApi
 */
export interface CircuitMetrics {
  name: string;
  state: CircuitState;
  /** `disable()` was called: calls pass, nothing trips. */
  disabled: boolean;
  /** `open()` was called: held open until `close()`, `reset()` or `disable()`. */
  forcedOpen: boolean;
  /** Rolling window length, in ms. */
  windowMs: number;
  /** Calls in the window that count toward the rate: successes + counted failures. */
  calls: number;
  failures: number;
  timeouts: number;
  rejections: number;
  slowCalls: number;
  /** `failures / calls` in the window (0 with no calls). */
  failureRate: number;
  slowCallRate: number;
  /** Calls running now. */
  inFlight: number;
  totals: CircuitTotals;
  /** When the circuit entered its current state (its creation time if it never changed). */
  stateSince: number;
  /** The last transition, if there was one. */
  lastStateChange?: CircuitStateChange;
  /** When OPEN (and not forced): the time from which the next call is a probe. */
  nextAttemptAt?: number;
  /**
   * Latency of the calls that ran, from a bounded histogram (ms; p-values are bucket upper
   * bounds, within 25 %). Every call is timed.
   */
  latency: LatencySummary;
}
