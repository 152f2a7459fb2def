import { GatewayTimeoutException, HttpException, ServiceUnavailableException } from '@nestjs/common';
import type { CircuitOpenError } from '../core/common/errors.js';

/** Errors that must not be retried whatever the retry policy says (their response is on the wire). */
const UNRETRYABLE = new WeakSet<object>();

export function markUnretryable(error: unknown): void {
  if ((typeof error === 'object' && error !== null) || typeof error === 'function')
    UNRETRYABLE.add(error as object);
}

export function isUnretryable(error: unknown): boolean {
  return (
    ((typeof error === 'object' && error !== null) || typeof error === 'function') &&
    UNRETRYABLE.has(error as object)
  );
}

/**
 * The handler's own `HttpException` 4xx (validation errors included): the caller's mistake, passed
 * through unchanged and not replaced by default. A dependency's error that merely carries a 4xx
 * `status` (an upstream 401 for a bad API key) is not the caller's: it is a failure of the route.
 */
export function isClientError(error: unknown): boolean {
  if (!isHttpException(error)) return false;
  const status = error.getStatus();
  return status >= 400 && status < 500;
}

/** `instanceof`, or Nest's shape where two copies of `@nestjs/common` are loaded. */
function isHttpException(error: unknown): error is { getStatus(): number } {
  if (error instanceof HttpException) return true;
  const e = error as { getStatus?: unknown; getResponse?: unknown } | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.getStatus === 'function' &&
    typeof e.getResponse === 'function'
  );
}

/** Seconds for `Retry-After`: the circuit's remaining open time, rounded up, at least 1. */
export function retryAfterSeconds(error: CircuitOpenError): number {
  return Math.max(1, Math.ceil(error.retryAfterMs / 1000));
}

/** 504 for a route timeout. The body is Nest's standard one: no internal message. */
export function gatewayTimeout(cause: unknown): GatewayTimeoutException {
  return new GatewayTimeoutException(undefined, { cause, description: 'Gateway Timeout' });
}

/** 503 for an open circuit; the caller sets `Retry-After`. */
export function serviceUnavailable(cause: unknown): ServiceUnavailableException {
  return new ServiceUnavailableException(undefined, { cause, description: 'Service Unavailable' });
}

/** Status of a request whose client went away before the answer (nginx's 499): nobody reads it. */
export const CLIENT_CLOSED_REQUEST = 499;

/** Ends a request whose client went away: an HttpException, so that Nest does not log it as unhandled. */
export function clientClosedRequest(cause: unknown): HttpException {
  return new HttpException('Client Closed Request', CLIENT_CLOSED_REQUEST, { cause });
}
