import type { ExecutionContext } from '@nestjs/common';
import type { CircuitOptions } from '../circuit-breaker/circuit-breaker.options.js';
import type { RetryConfig, RetryPresetName } from '../retry/retry.options.js';

export type { RetryPresetName };

/** The header that marks a fallback response by default. @publicApi */
export const DEFAULT_FALLBACK_HEADER = 'X-Resilience-Fallback';

/** Why a fallback is served. @publicApi */
export type ResilienceFailureReason = 'error' | 'timeout' | 'circuit-open';

/** What a `fallback` function receives besides the error. @publicApi */
export interface ResilienceFallbackContext {
  /** The circuit (and metrics) name of the route. */
  readonly name: string;
  /**
   * `timeout` (ours: `timeoutMs` or `totalTimeoutMs`), `circuit-open` (a `CircuitOpenError` of any
   * circuit: the route's own or one the handler called), or `error` (anything else).
   */
  readonly reason: ResilienceFailureReason;
  /** Handler calls made for this request (0 when the circuit rejected the first one). */
  readonly attempts: number;
  /** The request's execution context: `context.switchToHttp().getRequest()`. */
  readonly executionContext: ExecutionContext;
}

/**
 * Options of `@UseResilience()`. On a class they apply to every route of the controller; on a
 * method they override the class's, field by field.
 *
 * The layers, from outer to inner: fallback → total timeout → retry → circuit breaker →
 * attempt timeout (`timeoutMs`) → handler.
 * @publicApi
 */
export interface ResilienceOptions {
  /** Runs every attempt through the route's circuit breaker. @default true */
  enableCircuitBreaker?: boolean;
  /**
   * Retries failed attempts (network errors, timeouts, 5xx, 408/429). Only for GET, HEAD, OPTIONS,
   * PUT and DELETE unless `retryNonIdempotent` is set.
   * @default true when `retry` is set, else false
   */
  enableRetry?: boolean;
  /**
   * Timeout of each attempt, in ms; it answers 504 and aborts the handler's signal (`@ResilienceSignal()`).
   * 0 turns it off. Counts as a circuit failure.
   * @default the circuit's timeout when the breaker is on (`forRoot({ circuits })`, then `circuit.timeout`,
   * then `CIRCUIT_BREAKER_TIMEOUT`), else none
   */
  timeoutMs?: number;
  /** Serves `fallbackResponse` or `fallback()` instead of an error. @default true when either is set, else false */
  enableFallback?: boolean;
  /** The body served as the fallback. Never built from the error: it cannot leak an internal message. */
  fallbackResponse?: unknown;
  /** Name of the circuit, of the retry budget and of the metrics entry. @default 'Controller.method' */
  circuitName?: string;
  /**
   * A preset name (`'FAST'`, `'STANDARD'`, `'DATABASE'`, `'HTTP'`, `'SLOW'`), the name of a retry of
   * `forRoot({ retries })` (an unknown name stops boot, naming it), or a retry config.
   * @default the module's RETRY_* settings
   */
  retry?: RetryPresetName | (string & {}) | RetryConfig;
  /** Deadline of the whole request, retries and backoffs included, in ms; it answers 504. 0 turns it off. @default none */
  totalTimeoutMs?: number;
  /**
   * Builds the fallback body from the error (a value or a promise). Takes precedence over
   * `fallbackResponse`. What it returns is sent as is: do not copy the error's message into it.
   */
  fallback?: (error: unknown, context: ResilienceFallbackContext) => unknown;
  /**
   * Decides whether a failure gets the fallback, in place of the default rule (every failure but
   * the handler's own `HttpException` 4xx, validation errors included): `true` serves the
   * fallback, even for the handler's own 4xx; anything else lets the error through, mapped as
   * without a fallback (504, 503 + `Retry-After`, or the error unchanged). No effect without a
   * fallback. If it throws, that error is the response.
   * @default the rule above
   */
  fallbackIf?: (error: unknown, context: ResilienceFallbackContext) => boolean;
  /** HTTP status of a fallback response. @default 200 */
  fallbackStatus?: number;
  /**
   * Response header that marks a fallback response, with the reason as its value
   * (`X-Resilience-Fallback: timeout`); `false` sends none.
   * @default `forRoot({ resilience: { fallbackHeader } })`, else `'X-Resilience-Fallback'`
   */
  fallbackHeader?: string | false;
  /** Allows retries on POST, PATCH and other non-idempotent methods. @default false */
  retryNonIdempotent?: boolean;
  /**
   * Options of the route's circuit, used when it is first created; `forRoot({ circuits })` for the
   * same name wins, field by field. Validated at bootstrap. Its `timeout` only sets the default of
   * `timeoutMs`: the route times its attempts itself, with a signal created only when asked for.
   */
  circuit?: CircuitOptions;
}

/** Module-wide options of `@UseResilience()` routes: `forRoot({ resilience })`. @publicApi */
export interface ResilienceModuleOptions {
  /**
   * The header that marks a fallback response, for every route that does not set its own
   * `fallbackHeader`; `false` sends none.
   * @default 'X-Resilience-Fallback'
   */
  fallbackHeader?: string | false;
}
