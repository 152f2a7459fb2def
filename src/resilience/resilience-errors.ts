import { GatewayTimeoutException, HttpException, ServiceUnavailableException } from '@nestjs/common';
import type { CircuitOpenError } from '../core/errors.js';
import { statusOf } from '../core/error-shapes.js';

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

/** A 4xx from the handler (or its pipes): the caller's mistake, passed through unchanged and never replaced. */
export function isClientError(error: unknown): boolean {
  const status = statusOf(error);
  return status !== undefined && status >= 400 && status < 500;
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
