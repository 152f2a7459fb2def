import { isAbortLike, isMarkedNonRetryable, statusOf } from '../common/error-shapes.js';
import { isFailureStatus } from './http-status.js';

/**
 * The library's default answer to "does this error count against the circuit?".
 *
 * Counts: timeouts, network errors (`ECONNRESET`, `ECONNREFUSED`, undici's `fetch failed`...), 5xx,
 * 408, 425 and 429, and anything unknown (including thrown strings and `undefined`): an error we
 * cannot read is more likely an outage than the caller's mistake. The statuses are those of
 * http-status.ts, the table the default retry rule reads too.
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
  return status === undefined || isFailureStatus(status);
}

/**
 * @internal What a route's attempt rejects its own circuit call with when the handler answered with
 * its own `HttpException` 4xx (its own rate limit's 429 included): the caller's answer, not a
 * dependency's failure. The circuit that call runs in ignores it whatever `isFailure` says, and
 * passes it on; the route unwraps it at once, so nothing else (retry, fallback, client, another
 * circuit given the same error object later) ever sees it.
 */
export class CallersOwnRejection {
  constructor(readonly error: unknown) {}
}

/** @internal */
export function isCallersOwnRejection(value: unknown): value is CallersOwnRejection {
  return value instanceof CallersOwnRejection;
}
