/**
 * What an HTTP status on an error means for the library: the one table behind the circuit's default
 * failure rule and the retry rules, so that "does it count?" and "is it retried?" cannot drift apart.
 *
 * | kind        | statuses                                   | counts against a circuit | default retry | HTTP preset |
 * |-------------|--------------------------------------------|--------------------------|---------------|-------------|
 * | `transient` | 408, 425, 429, 500, 502, 503, 504, 529     | yes                      | yes           | yes         |
 * | `server`    | any other 5xx                              | yes                      | yes           | no          |
 * | `client`    | any other 4xx                              | no                       | no            | no          |
 * | `answered`  | 1xx, 2xx, 3xx                              | no                       | no            | no          |
 * | `unknown`   | anything outside 100..599 (0, 600, NaN...) | yes                      | yes           | no          |
 *
 * The HTTP preset also declines a 429 that says `insufficient_quota` (see retry-classification.ts).
 */

/**
 * `transient`: the server says "try again later" (408 Request Timeout, 425 Too Early, 429 Too Many
 * Requests, 500, 502, 503, 504, and 529, Anthropic's "overloaded"). `server`: any other server
 * error; it is an outage, but not one known to pass. `client`: the request itself is wrong.
 * `answered`: no error at all. `unknown`: no real answer; some clients report 0 when no response
 * came back, which is a network error.
 */
export type HttpStatusKind = 'transient' | 'server' | 'client' | 'answered' | 'unknown';

/** The statuses of kind `transient`: the only ones the HTTP preset retries. */
export const TRANSIENT_HTTP_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504, 529]);

/** Sorts a status into its {@link HttpStatusKind}. */
export function httpStatusKind(status: number): HttpStatusKind {
  // Written so that NaN and fractions outside the ranges land in `unknown`, not `answered`.
  if (!(status >= 100 && status < 600)) return 'unknown';
  if (TRANSIENT_HTTP_STATUSES.has(status)) return 'transient';
  if (status >= 500) return 'server';
  if (status >= 400) return 'client';
  return 'answered';
}

/**
 * True when an error with this status counts against a circuit, and is retried by the default
 * rule: an outage is worth another try unless the server said the request itself is wrong.
 */
export function isFailureStatus(status: number): boolean {
  const kind = httpStatusKind(status);
  return kind !== 'client' && kind !== 'answered';
}

/** True when the HTTP preset retries an error with this status (kind `transient`). */
export function isTransientStatus(status: number): boolean {
  return TRANSIENT_HTTP_STATUSES.has(status);
}
