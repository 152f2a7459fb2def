/**
 * Prisma and `pg` described by their shape, so that `@prisma/client` stays an optional peer and
 * any generated client (any output path, any models, with or without extensions) fits.
 */

/**
 * What the wrapper needs from a Prisma client. A `PrismaClient` from `@prisma/client` or from a
 * custom generator output satisfies it as is.
 * @publicApi
 */
export interface PrismaClientLike {
  $connect(): Promise<void>;
  $disconnect(): Promise<void>;
  $queryRawUnsafe(query: string, ...values: any[]): PromiseLike<unknown>;
  $transaction(...args: any[]): PromiseLike<unknown>;
}

/**
 * The client handed to an interactive transaction's callback: for a generated `PrismaClient`,
 * `Omit<PrismaClient, '$connect' | '$disconnect' | ...>` with every model typed.
 * @publicApi
 */
export type TransactionClientOf<TClient> = TClient extends {
  $transaction(fn: (tx: infer Tx) => any, ...rest: any[]): any;
}
  ? Tx
  : never;

/** Prisma's isolation levels (as strings, so no enum from `@prisma/client` is needed). @publicApi */
export type DatabaseIsolationLevel = 'ReadUncommitted' | 'ReadCommitted' | 'RepeatableRead' | 'Serializable';

/**
 * The figures of a `pg.Pool` (or any pool with the same counters).
 * @publicApi
 */
export interface PgPoolLike {
  /** Connections open, idle or checked out. */
  readonly totalCount: number;
  /** Connections open and idle. */
  readonly idleCount: number;
  /** Callers waiting for a connection. */
  readonly waitingCount: number;
  readonly options?: { max?: number; query_timeout?: number; connectionTimeoutMillis?: number };
}

/** True when `value` has a pool's three counters. */
export function isPgPoolLike(value: unknown): value is PgPoolLike {
  const v = value as Partial<Record<keyof PgPoolLike, unknown>> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.totalCount === 'number' &&
    typeof v.idleCount === 'number' &&
    typeof v.waitingCount === 'number'
  );
}

/**
 * The pool behind a client, where one can be found without guessing: `new PrismaPg(pool)` keeps the
 * pool it was given. A `PrismaPg` built from a connection string creates its pool privately, so
 * none is found; pass `database.pool` then.
 */
export function findPgPool(client: unknown): PgPoolLike | undefined {
  const adapter = (client as { _engineConfig?: { adapter?: { externalPool?: unknown } } } | null)
    ?._engineConfig?.adapter;
  return isPgPoolLike(adapter?.externalPool) ? adapter.externalPool : undefined;
}
