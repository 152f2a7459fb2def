/**
 * How the database wrapper reads Prisma and `pg` errors, without importing either: which ones are
 * transient (the same call may succeed later), which are permanent (it will fail the same way), and
 * which are transaction conflicts (the whole transaction must run again).
 */
import { causeChain, codesOf } from '../common/error-shapes.js';
import { isCircuitOpenError, markErrorKind, hasErrorKind } from '../common/errors.js';
import {
  databaseCodeKind,
  databaseCodesOf,
  driverAdapterCauses,
  isPermanentPrismaQueryCode,
} from './database-codes.js';
import { isRetryableDatabaseError } from './retry-classification.js';

/** Transient: worth another attempt, counts against the circuit. Permanent: neither. @publicApi */
export type DatabaseErrorClass = 'transient' | 'permanent';

/**
 * Errors of `pg` that carry no code, only a fixed message: the socket closed under a query (e.g. an
 * immediate server shutdown), the pool's `connectionTimeoutMillis`, the client's `query_timeout`.
 * The driver adapter passes them through as they are, so matching the message is the only way.
 */
const PG_CONNECTION_LOSS = [
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client has encountered a connection error and is not queryable',
];

/** True for `pg`'s code-less connection errors (see {@link PG_CONNECTION_LOSS}), anywhere in the cause chain. */
export function isPgConnectionLoss(error: unknown): boolean {
  return causeChain(error).some((link) => {
    const message = (link as { message?: unknown } | null)?.message;
    return typeof message === 'string' && PG_CONNECTION_LOSS.some((text) => message === text);
  });
}

/**
 * True when the whole transaction should run again: Prisma's P2034, or SQLSTATE 40001
 * (serialization failure) / 40P01 (deadlock), wherever Prisma or `pg` put them.
 * @publicApi
 */
export function isTransactionConflict(error: unknown): boolean {
  return databaseCodesOf(error).some((code) => databaseCodeKind(code) === 'conflict');
}

/**
 * True for an error worth another attempt: whatever the DATABASE retry preset retries (by code:
 * connection lost or refused, server shutting down or starting, pool timeout, serialization failure,
 * deadlock, the driver adapter's connection error kinds, our own `TimeoutError`), plus `pg`'s
 * code-less connection errors. Never a constraint, validation or not-found error (P2002, P2003,
 * P2025...), nor a `CircuitOpenError`.
 * @publicApi
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (isCircuitOpenError(error)) return false;
  if (isRetryableDatabaseError(error)) return true;
  // The one rule that is not by code: `pg` gives these errors no code at all. Only a Prisma query
  // code vetoes it: one on the error means the query, not the socket, was at fault.
  return isPgConnectionLoss(error) && !codesOf(error).some(isPermanentPrismaQueryCode);
}

/** Sorts an error into {@link DatabaseErrorClass}. @publicApi */
export function classifyDatabaseError(error: unknown): DatabaseErrorClass {
  return isTransientDatabaseError(error) ? 'transient' : 'permanent';
}

/**
 * A short, one-line description for logs: the code(s) and the last line of the message (Prisma
 * puts the call site first and the reason last).
 */
export function describeDatabaseError(error: unknown): string {
  const kinds = driverAdapterCauses(error)
    .map((cause) => cause.kind)
    .filter((kind): kind is string => typeof kind === 'string' && kind !== 'postgres');
  const codes = [...new Set([...databaseCodesOf(error), ...kinds])].slice(0, 3);
  const message =
    error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)
      ? String((error as { message: unknown }).message)
      : String(error);
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const reason = lines[lines.length - 1] ?? 'unknown error';
  return codes.length > 0 ? `${codes.join('/')}: ${reason}` : reason;
}

/**
 * Boot could not reach the database within `DATABASE_CONNECT_TIMEOUT`.
 * @publicApi
 */
export class DatabaseConnectError extends Error {
  override readonly name = 'DatabaseConnectError';

  constructor(
    /** Connection attempts made. */
    readonly attempts: number,
    /** How long boot tried, in ms. */
    readonly elapsedMs: number,
    /** The limit that was reached, in ms. */
    readonly timeoutMs: number,
    /** The last attempt's error. */
    override readonly cause: unknown,
  ) {
    super(
      `Could not connect to the database: ${attempts} ${attempts === 1 ? 'attempt' : 'attempts'} in ` +
        `${elapsedMs} ms (DATABASE_CONNECT_TIMEOUT=${timeoutMs}). Last error: ${describeDatabaseError(cause)}`,
    );
    markErrorKind(this, 'DatabaseConnectError');
  }
}

/** True for a {@link DatabaseConnectError}, from any copy of the package. @publicApi */
export function isDatabaseConnectError(error: unknown): error is DatabaseConnectError {
  return hasErrorKind(error, 'DatabaseConnectError');
}
