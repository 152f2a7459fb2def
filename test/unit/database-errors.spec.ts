import { PrismaClientKnownRequestError, PrismaClientValidationError } from '@prisma/client/runtime/client';
import {
  classifyDatabaseError,
  DatabaseConnectError,
  describeDatabaseError,
  isDatabaseConnectError,
  isTransactionConflict,
  isTransientDatabaseError,
} from '../../src/core/classification/database-errors';
import { CircuitOpenError, TimeoutError } from '../../src/core/common/errors';

// The shapes below are the ones Prisma 7 + @prisma/adapter-pg + pg produced against the embedded
// PostgreSQL 18 in the integration tests (restart, crash, proxy reset, blackhole, conflicts).
function known(code: string, message: string, driverAdapterCause?: object): PrismaClientKnownRequestError {
  return new PrismaClientKnownRequestError(message, {
    code,
    clientVersion: '7.10.0',
    meta: driverAdapterCause
      ? { driverAdapterError: { name: 'DriverAdapterError', cause: driverAdapterCause } }
      : {},
  });
}

const serverDown = known('P1001', "Can't reach database server at 127.0.0.1:5432", {
  kind: 'DatabaseNotReachable',
  host: '127.0.0.1',
  port: 5432,
});
const adminShutdownModel = known(
  'P2039',
  'Database error. Code: `57P01`. Message: `terminating connection`',
  {
    originalCode: '57P01',
    kind: 'postgres',
    code: '57P01',
    severity: 'FATAL',
  },
);
const adminShutdownRaw = known('P2010', 'Raw query failed. Code: `57P01`.', {
  kind: 'postgres',
  code: '57P01',
});
const resetMidQuery = known('P2010', 'Raw query failed. Message: `Server has closed the connection.`', {
  kind: 'ConnectionClosed',
});
const conflict = known(
  'P2034',
  'Transaction failed due to a write conflict or a deadlock. Please retry your transaction',
  {
    originalCode: '40001',
    kind: 'TransactionWriteConflict',
  },
);
const unique = known('P2002', 'Unique constraint failed on the fields: (`email`)', {
  kind: 'UniqueConstraintViolation',
  originalCode: '23505',
});
const notFound = known(
  'P2025',
  'An operation failed because it depends on one or more records that were required but not found.',
);

describe('database error classification', () => {
  it.each([
    ['server unreachable (P1001)', serverDown],
    ['admin shutdown of a model query (P2039 / 57P01)', adminShutdownModel],
    ['admin shutdown of a raw query (P2010 / 57P01)', adminShutdownRaw],
    ['connection reset mid-query (ConnectionClosed)', resetMidQuery],
    ['write conflict (P2034 / 40001)', conflict],
    ['crash shutdown: socket closed, no code', new Error('Connection terminated unexpectedly')],
    ['pg connection timeout', new Error('Connection terminated due to connection timeout')],
    ['pg query_timeout', new Error('Query read timeout')],
    ['our own timeout', new TimeoutError(500, 'database')],
    ['a raw ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    [
      'SQLSTATE 57P03 (starting up)',
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
    ],
  ])('%s is transient', (_label, error) => {
    expect(isTransientDatabaseError(error)).toBe(true);
    expect(classifyDatabaseError(error)).toBe('transient');
  });

  it.each([
    ['unique violation (P2002)', unique],
    ['record not found (P2025)', notFound],
    [
      'validation error',
      new PrismaClientValidationError('Argument `email` is missing.', { clientVersion: '7' }),
    ],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['an open circuit', new CircuitOpenError('database', 'OPEN', 1000)],
    [
      'P2002 with a connection message inside',
      Object.assign(new Error('Connection terminated'), { code: 'P2002' }),
    ],
  ])('%s is permanent', (_label, error) => {
    expect(isTransientDatabaseError(error)).toBe(false);
    expect(classifyDatabaseError(error)).toBe('permanent');
  });

  it('recognises transaction conflicts and deadlocks only', () => {
    expect(isTransactionConflict(conflict)).toBe(true);
    expect(isTransactionConflict(Object.assign(new Error('deadlock detected'), { code: '40P01' }))).toBe(
      true,
    );
    expect(isTransactionConflict(serverDown)).toBe(false);
    expect(isTransactionConflict(unique)).toBe(false);
  });

  it('describes an error in one line with its codes', () => {
    expect(describeDatabaseError(adminShutdownModel)).toBe(
      'P2039/57P01: Database error. Code: `57P01`. Message: `terminating connection`',
    );
    expect(
      describeDatabaseError(new Error('Invalid `prisma.task.count()` invocation:\n\n  → 20 x\nboom')),
    ).toBe('boom');
  });

  it('gives a boot failure a clear message and a guard that works across copies', () => {
    const error = new DatabaseConnectError(7, 30_012, 30_000, serverDown);
    expect(error.message).toBe(
      'Could not connect to the database: 7 attempts in 30012 ms (DATABASE_CONNECT_TIMEOUT=30000). ' +
        "Last error: P1001/DatabaseNotReachable: Can't reach database server at 127.0.0.1:5432",
    );
    expect(isDatabaseConnectError(error)).toBe(true);
    expect(isDatabaseConnectError(new Error(error.message))).toBe(false);
    expect(error.cause).toBe(serverDown);
  });
});
