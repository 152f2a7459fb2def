import { InjectionToken } from '@nestjs/common';
import type { RetryConfig } from '../retry/retry.options.js';
import type { DatabaseIsolationLevel, PgPoolLike } from './database.types.js';

/**
 * How the app hands its own Prisma client to the library. Exactly one of `client` or `useExisting`.
 *
 * ```ts
 * const pool = new Pool({ connectionString: process.env.DATABASE_URL, query_timeout: 10_000 });
 * ReliabilityModule.forRoot({
 *   database: { client: () => new PrismaClient({ adapter: new PrismaPg(pool) }), pool },
 * });
 * ```
 * @publicApi
 */
export interface DatabaseModuleOptions<TClient = unknown> {
  /** Creates the app's client, e.g. `() => new PrismaClient({ adapter })`. Called once, at boot. */
  client?: () => TClient | Promise<TClient>;
  /** A provider token under which the app already registers its client (e.g. its `PrismaService`). */
  useExisting?: InjectionToken;
  /**
   * The `pg.Pool` behind the client, for the pool figures of `getDatabaseMetrics()`. Found on its
   * own when the adapter was built as `new PrismaPg(pool)`; give it when the adapter made its own.
   */
  pool?: PgPoolLike;
  /** Connect at boot with retry (within DATABASE_CONNECT_TIMEOUT); boot fails if it cannot. @default true */
  connectOnBoot?: boolean;
  /** Name of the breaker used by `executeWithReliability` and `transaction`. @default 'database' */
  circuitName?: string;
  /**
   * Overrides of the retry of `executeWithReliability` / `executeWithRetry`, over the DATABASE preset
   * (4 attempts, 200 ms → 5 s, x3, transient errors only). @default RetryService.PresetConfigs.DATABASE
   */
  retry?: RetryConfig;
  /** Overrides of the retry of a whole `transaction()`, over the same preset. @default the `retry` option */
  transactionRetry?: RetryConfig;
  /** Register `$disconnect` as a shutdown cleanup task. @default true */
  disconnectOnShutdown?: boolean;
  /** Priority of that cleanup task (higher runs first); low, so that it closes after what uses it. @default -100 */
  shutdownPriority?: number;
  /** Overrides DATABASE_CONNECT_TIMEOUT (ms). @default 30000 */
  connectTimeout?: number;
  /** Overrides DATABASE_HEALTH_TIMEOUT (ms). @default 2000 */
  healthTimeout?: number;
  /** Overrides DATABASE_QUERY_TIMEOUT (ms, 0 = the circuit's own timeout). @default 10000 */
  queryTimeout?: number;
}

/** What a database operation gets besides the client. @publicApi */
export interface DatabaseCallContext {
  /** Attempt number, from 1. */
  attempt: number;
  /** Aborts when the call times out. Prisma cannot cancel a query; pass it to work that can. */
  signal: AbortSignal;
}

/** Per-call options of `executeWithReliability`. @publicApi */
export interface DatabaseCallOptions {
  /** The breaker to use. @default the `circuitName` option ('database') */
  circuit?: string;
  /**
   * Retry overrides for this call, over the service's retry settings. (The time limit of a call is
   * its circuit's `timeout`: DATABASE_QUERY_TIMEOUT for circuits the service creates.)
   */
  retry?: RetryConfig;
}

/** Options of `transaction()`. @publicApi */
export interface DatabaseTransactionOptions extends DatabaseCallOptions {
  /** @default the client's default (ReadCommitted on PostgreSQL) */
  isolationLevel?: DatabaseIsolationLevel;
  /** How long to wait for a connection to start the transaction, in ms (Prisma's `maxWait`). @default 2000 */
  maxWait?: number;
  /** Prisma's limit of one transaction attempt, in ms (Prisma's `timeout`). @default 5000 */
  transactionTimeout?: number;
}
