import { isAbortLike, isMarkedNonRetryable, statusOf, TRANSIENT_CLIENT_STATUSES } from './error-shapes.js';

/**
 * The library's default answer to "does this error count against the circuit?".
 *
 * Counts: timeouts, network errors (`ECONNRESET`, `ECONNREFUSED`, undici's `fetch failed`...), 5xx,
 * 408, 425 and 429 (the statuses that the default retry rule retries too), and anything unknown
 * (including thrown strings and `undefined`): an error we cannot read is more likely an outage
 * than the caller's mistake.
 *
 * Does not count:
 * - a client error: an error whose `status`, `statusCode`, `response.status` or `getStatus()`
 *   (Nest's `HttpException`) is in 100..499, other than 408, 425 and 429. A status of 0, which some
 *   clients report when no response came back at all, is treated as a network error and counts;
 * - an error marked `retryable === false` or `isClientError === true`;
 * - an abort (`AbortError` / `ABORT_ERR`): the circuit's own timeout rejects with `TimeoutError`
 *   before any abort can surface, so an abort that reaches here was started by the caller.
 *
 * Whatever `isFailure` says, a circuit never counts another circuit's `CircuitOpenError` (see
 * `CircuitBreaker`).
 *
 * Compose it in a circuit's `isFailure` to add your own exceptions:
 * `isFailure: (e) => !(e instanceof NotFoundError) && defaultIsFailure(e)`.
 * @publicApi
 */
export function defaultIsFailure(error: unknown): boolean {
  if (isMarkedNonRetryable(error) || isAbortLike(error)) return false;
  const status = statusOf(error);
  if (status !== undefined && status >= 100 && status < 500) return TRANSIENT_CLIENT_STATUSES.has(status);
  return true;
}

/** Errors their thrower says are its caller's, never a dependency's (see {@link markCallersOwn}). */
const CALLERS_OWN = new WeakSet<object>();

/**
 * @internal Marks `error` as the caller's own answer rather than a dependency's failure: a route
 * handler's own `HttpException` 4xx (its own rate limit's 429 included). No circuit counts it,
 * whatever `isFailure` says.
 */
export function markCallersOwn(error: unknown): void {
  if ((typeof error === 'object' && error !== null) || typeof error === 'function') {
    CALLERS_OWN.add(error as object);
  }
}

/** @internal True for an error passed to {@link markCallersOwn}. */
export function isCallersOwn(error: unknown): boolean {
  return (
    ((typeof error === 'object' && error !== null) || typeof error === 'function') &&
    CALLERS_OWN.has(error as object)
  );
}
