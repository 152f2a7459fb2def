import {
  DATABASE_CODES,
  databaseCodeKind,
  DatabaseCodeKind,
  SQLSTATE_CLASSES,
} from '../../src/core/classification/database-codes';
import {
  isTransactionConflict,
  isTransientDatabaseError,
} from '../../src/core/classification/database-errors';
import { isRetryableDatabaseError } from '../../src/core/classification/retry-classification';
import {
  pgError,
  prismaAdapterError,
  prismaInitError,
  prismaKnownError,
} from '../support/retry-error-shapes';

const isSqlstate = (code: string) => /^[0-9][0-9A-Z]{4}$/.test(code);

/** Every listed code, one code of each SQLSTATE class, and codes the list does not know. */
const codes: Array<[string, DatabaseCodeKind | undefined]> = [
  ...DATABASE_CODES,
  ...[...SQLSTATE_CLASSES].map(([prefix, kind]): [string, DatabaseCodeKind] => [`${prefix}P99`, kind]),
  ['P2002', 'permanent'], // an unlisted query-engine code: the query is wrong
  ['P1009', undefined],
  ['57014', undefined], // query canceled: not listed, so no code says it is transient
  ['XX000', undefined],
];

/** The shapes a code arrives in: `pg` alone, Prisma's own code, and the driver adapter's SQLSTATE inside P2010 / P2039. */
function shapesOf(code: string): Array<[string, Error]> {
  const shapes: Array<[string, Error]> = [
    ['pg', pgError(code, 'db error')],
    ['Prisma', prismaKnownError(code, 'db error')],
  ];
  if (isSqlstate(code)) {
    shapes.push(['adapter P2039', prismaAdapterError(code, 'db error')]);
    shapes.push(['adapter P2010', prismaAdapterError(code, 'db error', 'P2010')]);
  }
  return shapes;
}

describe('one list of database codes', () => {
  it.each(codes)('%s is %s', (code, kind) => {
    expect(databaseCodeKind(code)).toBe(kind);
  });

  describe.each(codes)('%s (%s)', (code, kind) => {
    const retried = kind === 'transient' || kind === 'conflict';

    it.each(shapesOf(code))('as %s: the retry rule and the transience rule agree', (_label, error) => {
      // A wrapper code alone (P2010 / P2039 with nothing inside) carries no answer: neither rule retries it.
      const expected = kind === 'wrapper' ? false : retried;
      expect(isRetryableDatabaseError(error)).toBe(expected);
      expect(isTransientDatabaseError(error)).toBe(expected);
      expect(isTransactionConflict(error)).toBe(kind === 'conflict');
    });
  });

  it.each(codes.filter(([code]) => code.startsWith('P1')))(
    'a PrismaClientInitializationError with %s: retried unless the code is permanent',
    (code, kind) => {
      const error = prismaInitError('init failed', code);
      expect(isRetryableDatabaseError(error)).toBe(kind !== 'permanent');
      expect(isTransientDatabaseError(error)).toBe(kind !== 'permanent');
    },
  );

  describe('where the two rules differ, and why', () => {
    // The retry preset reads codes only; the transience rule also knows `pg`'s code-less connection
    // errors, which the database wrapper retries itself. Only a Prisma query code (P2xxx) on the
    // error vetoes that message rule.
    it('a code-less pg connection loss is transient, but the DATABASE preset does not retry it', () => {
      const error = new Error('Connection terminated unexpectedly');
      expect(isTransientDatabaseError(error)).toBe(true);
      expect(isRetryableDatabaseError(error)).toBe(false);
    });

    it('a Prisma query code on a connection-loss message makes both say no', () => {
      const error = Object.assign(new Error('Connection terminated'), { code: 'P2002' });
      expect(isTransientDatabaseError(error)).toBe(false);
      expect(isRetryableDatabaseError(error)).toBe(false);
    });
  });
});
