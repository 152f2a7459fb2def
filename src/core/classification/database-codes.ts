/**
 * The one list of database error codes (Prisma P-codes, PostgreSQL SQLSTATEs, the driver's socket
 * codes) and what a retry can do about each, with the readers that find the codes on Prisma and
 * `pg` errors without importing either. The DATABASE retry preset and the database wrapper's
 * transience both read it.
 */
import { causeChain, codesOf } from '../common/error-shapes.js';

/**
 * `transient`: the same call may succeed later. `conflict`: a transaction conflict, transient too,
 * but the whole transaction must run again. `permanent`: the same call fails the same way.
 * `wrapper`: a Prisma code that only wraps a driver error, so the wrapped code decides.
 */
export type DatabaseCodeKind = 'transient' | 'conflict' | 'permanent' | 'wrapper';

/** Codes that are listed one by one. */
export const DATABASE_CODES: ReadonlyMap<string, DatabaseCodeKind> = new Map<string, DatabaseCodeKind>([
  // Prisma: connection and initialization (P1xxx).
  ['P1000', 'permanent'], // authentication failed
  ['P1001', 'transient'], // server unreachable
  ['P1002', 'transient'], // server reached, timed out
  ['P1003', 'permanent'], // database does not exist
  ['P1008', 'transient'], // operation timed out
  ['P1010', 'permanent'], // access denied
  ['P1012', 'permanent'], // schema invalid
  ['P1017', 'transient'], // server closed the connection
  // Prisma: query engine (P2xxx). Every P2 code not listed here is `permanent`.
  ['P2010', 'wrapper'], // raw query failed, with the driver's code inside
  ['P2024', 'transient'], // timed out waiting for a pool connection
  ['P2034', 'conflict'], // write conflict or deadlock
  ['P2037', 'transient'], // too many database connections
  ['P2039', 'wrapper'], // the driver adapter's database error, with the SQLSTATE inside
  // PostgreSQL SQLSTATEs. Whole classes are in SQLSTATE_CLASSES.
  ['40001', 'conflict'], // serialization failure
  ['40P01', 'conflict'], // deadlock detected
  ['53300', 'transient'], // too many connections
  ['57P01', 'transient'], // admin shutdown
  ['57P02', 'transient'], // crash shutdown
  ['57P03', 'transient'], // cannot connect now (starting up)
  ['57P05', 'transient'], // idle session timeout
  // The driver's socket, when it leaves a Node system error as it is.
  ['ECONNREFUSED', 'transient'],
  ['ECONNRESET', 'transient'],
]);

/** SQLSTATE classes (the first two characters) that decide for every code in them. */
export const SQLSTATE_CLASSES: ReadonlyMap<string, DatabaseCodeKind> = new Map<string, DatabaseCodeKind>([
  ['08', 'transient'], // connection exception
  ['22', 'permanent'], // data exception
  ['23', 'permanent'], // integrity constraint violation
  ['28', 'permanent'], // invalid authorization
  ['42', 'permanent'], // syntax error or access rule violation
]);

/**
 * Kinds of the driver adapter's errors that mean the connection, not the query, failed. A raw query
 * (`$queryRaw`) reports them under the catch-all P2010, so the code alone does not tell.
 */
export const TRANSIENT_ADAPTER_KINDS: ReadonlySet<string> = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionWriteConflict',
]);

const PRISMA_QUERY_CODE = /^P2\d{3}$/;
const SQLSTATE = /^[0-9A-Z]{5}$/;

/** What {@link DATABASE_CODES} and {@link SQLSTATE_CLASSES} say of `code`; `undefined` for a code they do not know. */
export function databaseCodeKind(code: string): DatabaseCodeKind | undefined {
  const listed = DATABASE_CODES.get(code);
  if (listed !== undefined) return listed;
  if (PRISMA_QUERY_CODE.test(code)) return 'permanent';
  return SQLSTATE.test(code) ? SQLSTATE_CLASSES.get(code.slice(0, 2)) : undefined;
}

/** True for a Prisma query-engine code (P2xxx) of kind `permanent`: the query itself is wrong. */
export function isPermanentPrismaQueryCode(code: string): boolean {
  return PRISMA_QUERY_CODE.test(code) && databaseCodeKind(code) === 'permanent';
}

/**
 * The driver adapter's errors that Prisma keeps under `meta.driverAdapterError`, with their causes,
 * wherever they sit in the cause chain.
 */
export function driverAdapterCauses(error: unknown): Array<Record<string, unknown>> {
  const causes: Array<Record<string, unknown>> = [];
  for (const link of causeChain(error)) {
    const adapterError = (link as { meta?: { driverAdapterError?: unknown } } | null)?.meta
      ?.driverAdapterError;
    if (adapterError === undefined) continue;
    for (const inner of causeChain(adapterError)) {
      if (typeof inner === 'object' && inner !== null) causes.push(inner as Record<string, unknown>);
    }
  }
  return causes;
}

/**
 * Codes along the cause chain, plus what Prisma keeps elsewhere: `errorCode` of an initialization
 * error, and the driver adapter's SQLSTATE (`meta.driverAdapterError.cause.originalCode` / `code`).
 */
export function databaseCodesOf(error: unknown): string[] {
  const codes = codesOf(error);
  for (const link of causeChain(error)) {
    if (typeof link !== 'object' || link === null) continue;
    const e = link as { errorCode?: unknown; originalCode?: unknown };
    if (typeof e.errorCode === 'string') codes.push(e.errorCode);
    if (typeof e.originalCode === 'string') codes.push(e.originalCode);
  }
  for (const cause of driverAdapterCauses(error)) {
    if (typeof cause.originalCode === 'string') codes.push(cause.originalCode);
    if (typeof cause.code === 'string') codes.push(cause.code);
  }
  return codes;
}
