import type { CircuitOptions } from '../circuit-breaker/circuit-breaker.options.js';
import type { RetryConfig } from '../retry/retry.options.js';
import type { ResilienceFallbackContext } from './resilience.options.js';
import type { RouteMetricsRecord } from './resilience-metrics.js';

/** When a route's retry applies: always, never, or by the request's method (`@All()` routes). */
export type RetryScope = 'always' | 'never' | 'idempotent-requests';

/** One route's options, resolved and validated once at bootstrap. */
export interface ResilienceRoute {
  /** `Controller.method`. */
  readonly id: string;
  /** The circuit, retry-budget and metrics name. */
  readonly name: string;
  readonly breaker: boolean;
  /**
   * Passed to the circuit on first use; its `timeout` is 0, the attempt timeout is ours (and its
   * `externalTimeout`, so that a slow probe is not taken for a stuck one).
   */
  readonly circuitOptions: CircuitOptions;
  /**
   * True when `forRoot({ circuits })` gives this circuit a timeout of its own: the breaker then
   * times each attempt, and its signal is linked to the handler's.
   */
  readonly circuitTimes: boolean;
  /** `undefined` when retries are off. */
  readonly retry: RetryConfig | undefined;
  readonly retryScope: RetryScope;
  /** Attempt timeout in ms (0 = none). */
  readonly timeoutMs: number;
  /** Whole-request timeout in ms (0 = none). */
  readonly totalTimeoutMs: number;
  /** `undefined` when there is no fallback. */
  readonly fallback: ((error: unknown, context: ResilienceFallbackContext) => unknown) | undefined;
  /** Replaces the default "every failure but the handler's own 4xx" rule; `undefined`: the default. */
  readonly fallbackIf: ((error: unknown, context: ResilienceFallbackContext) => boolean) | undefined;
  readonly fallbackStatus: number;
  /** The header that marks a fallback response; `undefined`: none. */
  readonly fallbackHeader: string | undefined;
  readonly metrics: RouteMetricsRecord;
  /** Set once the route was seen streaming at run time (one warning). */
  streamWarned: boolean;
}
