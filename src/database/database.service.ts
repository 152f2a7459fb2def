import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AsyncLocalStorage } from 'node:async_hooks';
import { CircuitBreakerService } from '../circuit-breaker/circuit-breaker.service.js';
import type { CircuitOptions } from '../circuit-breaker/circuit-breaker.options.js';
import { Clock, systemClock } from '../core/common/clock.js';
import {
  classifyDatabaseError,
  describeDatabaseError,
  isTransactionConflict,
  isTransientDatabaseError,
} from '../core/classification/database-errors.js';
import { isCircuitOpenError, ReliabilityConfigError } from '../core/common/errors.js';
import { runWithTimeout } from '../core/common/deadline.js';
import type { RetryEvent } from '../core/retry/retry.js';
import { ReliabilityConfig } from '../config/reliability-config.js';
import { RELIABILITY_CLOCK, RELIABILITY_CONFIG, RELIABILITY_MODULE_OPTIONS } from '../reliability.tokens.js';
import type { ReliabilityModuleOptions } from '../reliability-options.interface.js';
import type { RetryConfig } from '../retry/retry.options.js';
import { RetryService } from '../retry/retry.service.js';
import { ShutdownService } from '../shutdown/shutdown.service.js';
import { connectWithRetry } from './database-connect.js';
import { DatabaseMetrics, DatabaseMetricsRecorder } from './database-metrics.js';
import {
  DatabaseCallContext,
  DatabaseCallOptions,
  DatabaseModuleOptions,
  DatabaseTransactionOptions,
} from './database.options.js';
import {
  findPgPool,
  isPgPoolLike,
  PgPoolLike,
  PrismaClientLike,
  TransactionClientOf,
} from './database.types.js';
import { validateDatabaseOptions } from './database.validation.js';
import { InFlightTracker } from '../core/shutdown/in-flight-tracker.js';
import { listenForPoolErrors } from './pool-errors.js';

/** A database operation: gets the client (typed as the app's `PrismaClient`) and the call context. @publicApi */
export type DatabaseOperation<TClient, T> = (
  client: TClient,
  context: DatabaseCallContext,
) => T | PromiseLike<T>;

/** The readiness probe's answer. @publicApi */
export interface DatabaseHealth {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

const DEFAULT_CIRCUIT = 'database';

/** A running `transaction()` attempt: its client and signal, `open` until its callback settles. */
interface TransactionScope<TClient> {
  tx: TClient;
  signal: AbortSignal;
  open: boolean;
}

/** What re-runs a whole transaction: a conflict, or anything transient (it was rolled back). */
function isTransactionRetryable(error: unknown): boolean {
  return isTransactionConflict(error) || isTransientDatabaseError(error);
}

/**
 * The app's own Prisma client behind a circuit breaker and retries, with boot-time connect retry,
 * a readiness probe, real metrics and a graceful `$disconnect`.
 *
 * Annotate the injection with your client type and everything stays typed:
 * ```ts
 * constructor(private readonly db: DatabaseService<PrismaClient>) {}
 *
 * findUsers() {
 *   return this.db.executeWithReliability((prisma) => prisma.user.findMany());
 * }
 * ```
 * @publicApi
 */
@Injectable()
export class DatabaseService<TClient extends PrismaClientLike = PrismaClientLike>
  implements OnModuleInit, OnApplicationShutdown
{
  protected readonly logger = new Logger('DatabaseService');
  protected readonly clock: Clock;
  private readonly options: DatabaseModuleOptions<TClient> | undefined;
  private readonly circuitName: string;
  private client: TClient | undefined;
  private pool: PgPoolLike | undefined;
  private readonly recorder = new DatabaseMetricsRecorder();
  private readonly inFlight: InFlightTracker;
  /**
   * The running `transaction()`'s client and signal, while its callback runs: the execute methods
   * called inside use it (a statement on the root client would run outside the transaction and
   * could wait on its row locks), and never retry or break on their own. Work the callback
   * scheduled (a timer, a fire-and-forget promise) inherits the store past the commit: `open`
   * tells it that the transaction is over, so it runs on the root client again.
   */
  private readonly insideTransaction = new AsyncLocalStorage<TransactionScope<TClient>>();
  private removeCleanupTask: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private circuitSettings: CircuitOptions | undefined;

  constructor(
    @Inject(RELIABILITY_MODULE_OPTIONS) moduleOptions: ReliabilityModuleOptions,
    @Inject(RELIABILITY_CONFIG) private readonly config: ReliabilityConfig,
    private readonly breaker: CircuitBreakerService,
    private readonly retry: RetryService,
    private readonly moduleRef: ModuleRef,
    @Optional() private readonly shutdown?: ShutdownService,
    @Optional() @Inject(RELIABILITY_CLOCK) clock?: Clock,
  ) {
    this.clock = clock ?? systemClock;
    this.inFlight = new InFlightTracker();
    this.options = moduleOptions.database as DatabaseModuleOptions<TClient> | undefined;
    this.circuitName = this.options?.circuitName ?? DEFAULT_CIRCUIT;
  }

  /** Resolves the client, connects it (with retry, within DATABASE_CONNECT_TIMEOUT) and registers `$disconnect`. */
  async onModuleInit(): Promise<void> {
    const options = this.options;
    if (options === undefined) return;
    validateDatabaseOptions(options);
    const client = await this.resolveClient(options);
    this.client = client;
    this.pool = options.pool ?? findPgPool(client);
    this.warnAboutPool();
    // The listener outlives this service: it holds the logger only, not the service.
    const logger = this.logger;
    if (this.pool) listenForPoolErrors(this.pool, (message) => logger.warn(message));
    if (options.disconnectOnShutdown !== false && this.shutdown) {
      this.removeCleanupTask = this.shutdown.registerCleanupTask('database', (signal) => this.close(signal), {
        priority: options.shutdownPriority ?? -100,
      });
    }
    if (options.connectOnBoot === false) return;
    const { connectTimeout, healthTimeout } = this.config.database;
    const { connection } = this.recorder;
    let result;
    try {
      result = await connectWithRetry(
        client,
        { timeoutMs: connectTimeout, attemptTimeoutMs: healthTimeout, clock: this.clock, log: this.logger },
        (attempt, error) => {
          connection.attempts = attempt;
          connection.lastError = error === undefined ? null : describeDatabaseError(error);
        },
      );
    } catch (error) {
      // Boot fails: release what the client opened, so the process can exit.
      await client.$disconnect().catch(() => undefined);
      throw error;
    }
    connection.connected = true;
    connection.connectMs = result.elapsedMs;
  }

  /** The fallback when ShutdownService is not there to run the cleanup task: disconnect here. */
  async onApplicationShutdown(): Promise<void> {
    if (this.removeCleanupTask === undefined && this.options?.disconnectOnShutdown !== false) {
      await this.close();
    }
  }

  /**
   * The app's client, typed as given: `db.getPrismaClient().user.findMany()`. Calls made on it
   * directly bypass the breaker, the retries and the metrics.
   */
  getPrismaClient(): TClient {
    return this.requireClient();
  }

  /**
   * Runs `fn` through the circuit breaker (default `database`) around retries with the DATABASE
   * preset: transient errors (connection lost, server restarting, pool timeout, serialization
   * failure) are retried with backoff, permanent ones (P2002, P2025, validation) fail at once and
   * do not count against the circuit. The whole call is bounded by DATABASE_QUERY_TIMEOUT.
   *
   * A retried write may run twice if the connection broke after its commit: make writes
   * idempotent (unique keys, `upsert`, `createMany({ skipDuplicates: true })`).
   * Inside `transaction()`, runs `fn` once with the transaction's client, with no retry and no
   * breaker of its own (work the callback scheduled that runs after it returned is outside again).
   */
  executeWithReliability<T>(
    fn: DatabaseOperation<TClient, T>,
    options: DatabaseCallOptions = {},
  ): Promise<T> {
    const client = this.client;
    if (client === undefined) return this.notReady();
    const inside = this.openTransaction();
    if (inside) return this.once(fn, inside);
    return this.observe(() =>
      this.breaker.execute(
        options.circuit ?? this.circuitName,
        (signal) =>
          this.retry.executeWithRetry(
            (attempt, attemptSignal) => this.attempt(fn, client, attempt, attemptSignal),
            this.retryConfig(this.options?.retry, options.retry, signal),
          ),
        undefined,
        this.circuitOptions(),
      ),
    );
  }

  /** Runs `fn` through the circuit breaker only (one attempt). Inside `transaction()`: as above. */
  executeWithCircuitBreaker<T>(fn: DatabaseOperation<TClient, T>, name?: string): Promise<T> {
    const client = this.client;
    if (client === undefined) return this.notReady();
    const inside = this.openTransaction();
    if (inside) return this.once(fn, inside);
    return this.observe(() =>
      this.breaker.execute(
        name ?? this.circuitName,
        (signal) => this.attempt(fn, client, 1, signal),
        undefined,
        this.circuitOptions(),
      ),
    );
  }

  /**
   * Runs `fn` with retries only (the service's retry settings, then `config`), no breaker.
   * Inside `transaction()`: as above.
   */
  executeWithRetry<T>(fn: DatabaseOperation<TClient, T>, config?: RetryConfig): Promise<T> {
    const client = this.client;
    if (client === undefined) return this.notReady();
    const inside = this.openTransaction();
    if (inside) return this.once(fn, inside);
    return this.observe(() =>
      this.retry.executeWithRetry(
        (attempt, signal) => this.attempt(fn, client, attempt, signal),
        this.retryConfig(this.options?.retry, config, undefined),
      ),
    );
  }

  /**
   * An interactive transaction, run again as a whole when it fails with a write conflict or a
   * deadlock (P2034, SQLSTATE 40001 / 40P01) or a lost connection, through the breaker. Statements
   * inside are never retried on their own (after an error PostgreSQL has aborted the
   * transaction anyway): `fn` must be safe to run again from the start.
   *
   * ```ts
   * await db.transaction(async (tx) => {
   *   const task = await tx.task.findUniqueOrThrow({ where: { id } });
   *   return tx.task.update({ where: { id }, data: { attempts: task.attempts + 1 } });
   * }, { isolationLevel: 'Serializable' });
   * ```
   */
  transaction<R>(
    fn: (tx: TransactionClientOf<TClient>, context: DatabaseCallContext) => Promise<R>,
    options: DatabaseTransactionOptions = {},
  ): Promise<R> {
    const client = this.client;
    if (client === undefined) return this.notReady();
    if (this.openTransaction()) {
      return Promise.reject(new Error('transaction() cannot be nested: use the `tx` client you were given'));
    }
    const { transactions } = this.recorder;
    const prismaOptions = {
      ...(options.isolationLevel !== undefined && { isolationLevel: options.isolationLevel }),
      ...(options.maxWait !== undefined && { maxWait: options.maxWait }),
      ...(options.transactionTimeout !== undefined && { timeout: options.transactionTimeout }),
    };
    const runOnce = (attempt: number, signal: AbortSignal): Promise<R> => {
      if (attempt > 1) transactions.retried++;
      const run = client.$transaction((tx: TransactionClientOf<TClient>) => {
        // `tx` lacks $connect / $transaction, but every model and raw-query method is there.
        const scope: TransactionScope<TClient> = { tx: tx as unknown as TClient, signal, open: true };
        return this.insideTransaction.run(scope, async () => {
          try {
            return await fn(tx, { attempt, signal });
          } finally {
            scope.open = false;
          }
        });
      }, prismaOptions) as PromiseLike<R>;
      return this.inFlight.track(run).then(
        (value) => {
          transactions.committed++;
          return value;
        },
        (error: unknown) => {
          if (isTransactionConflict(error)) transactions.conflicts++;
          throw error;
        },
      );
    };
    transactions.started++;
    const retryBase = this.options?.transactionRetry ?? this.options?.retry;
    return this.observe(() =>
      this.breaker.execute(
        options.circuit ?? this.circuitName,
        (signal) =>
          this.retry.executeWithRetry(
            runOnce,
            this.retryConfig(retryBase, options.retry, signal, isTransactionRetryable),
          ),
        undefined,
        this.circuitOptions(),
      ),
    );
  }

  /**
   * Readiness probe: `SELECT 1` within DATABASE_HEALTH_TIMEOUT, straight to the database (not
   * through the breaker, so it sees recovery before the breaker does). Never throws.
   */
  async healthCheck(): Promise<DatabaseHealth> {
    const started = this.clock.now();
    const { health } = this.recorder;
    health.checks++;
    const client = this.client;
    const result: DatabaseHealth = { ok: false, latencyMs: 0 };
    if (client === undefined) {
      result.error = this.options
        ? 'the database client is not initialised yet'
        : 'no database is configured';
    } else {
      try {
        await runWithTimeout(
          () => this.inFlight.track(client.$queryRawUnsafe('SELECT 1')),
          this.config.database.healthTimeout,
          this.clock,
          'database health check',
        );
        result.ok = true;
      } catch (error) {
        result.error = describeDatabaseError(error);
      }
    }
    result.latencyMs = this.clock.now() - started;
    health.lastLatencyMs = result.latencyMs;
    if (!result.ok) health.failures++;
    return result;
  }

  /** Real figures: operations, failures by class, retries, transactions, latency, breaker state, pool. */
  getDatabaseMetrics(): DatabaseMetrics {
    const r = this.recorder;
    const pool = this.pool;
    return {
      queries: r.queries,
      successes: r.successes,
      failures: { ...r.failures },
      retries: r.retries,
      inFlight: this.inFlight.count,
      transactions: { ...r.transactions },
      latency: r.latencySummary(),
      circuit: { name: this.circuitName, state: this.breaker.getState(this.circuitName) ?? 'CLOSED' },
      pool: pool
        ? {
            totalCount: pool.totalCount,
            idleCount: pool.idleCount,
            waitingCount: pool.waitingCount,
            ...(typeof pool.options?.max === 'number' && { max: pool.options.max }),
          }
        : null,
      connection: { ...r.connection },
      health: { ...r.health },
    };
  }

  /** Waits for the calls in flight (until `signal` aborts), then `$disconnect`. Runs once. */
  close(signal?: AbortSignal): Promise<void> {
    this.closing ??= this.disconnect(signal);
    return this.closing;
  }

  private async disconnect(signal?: AbortSignal): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    const running = this.inFlight.count;
    if (running > 0)
      this.logger.log(`Waiting for ${running} database ${running === 1 ? 'call' : 'calls'} in flight`);
    await this.inFlight.whenIdle(signal);
    if (this.inFlight.count > 0) {
      this.logger.warn(
        `Disconnecting with ${this.inFlight.count} database calls still in flight (cleanup timeout)`,
      );
    }
    await client.$disconnect();
    this.recorder.connection.connected = false;
    this.logger.log('Database disconnected');
  }

  private notReady(): Promise<never> {
    return Promise.reject(this.notReadyError());
  }

  private requireClient(): TClient {
    if (this.client === undefined) throw this.notReadyError();
    return this.client;
  }

  private notReadyError(): Error {
    return new Error(
      this.options
        ? 'DatabaseService is not initialised yet: it resolves the client in onModuleInit (call it after app.init())'
        : 'DatabaseService has no client: pass `database: { client: () => new PrismaClient({ adapter }) }` ' +
            '(or `useExisting`) to ReliabilityModule.forRoot()',
    );
  }

  private async resolveClient(options: DatabaseModuleOptions<TClient>): Promise<TClient> {
    const field = options.client ? 'database.client' : 'database.useExisting';
    let client: unknown;
    try {
      client = options.client
        ? await options.client()
        : this.moduleRef.get(options.useExisting as never, { strict: false });
    } catch (error) {
      throw new ReliabilityConfigError([
        {
          field,
          value: options.client ?? options.useExisting,
          expected: `must give a Prisma client (${String(error)})`,
        },
      ]);
    }
    const shape = client as Partial<Record<keyof PrismaClientLike, unknown>> | null;
    const missing = (['$connect', '$disconnect', '$queryRawUnsafe', '$transaction'] as const).filter(
      (key) => typeof shape?.[key] !== 'function',
    );
    if (missing.length > 0) {
      throw new ReliabilityConfigError([
        { field, value: client, expected: `must give a Prisma client; missing ${missing.join(', ')}` },
      ]);
    }
    return client as TClient;
  }

  private warnAboutPool(): void {
    const pool = this.pool;
    if (this.options?.pool !== undefined && !isPgPoolLike(this.options.pool)) {
      throw new ReliabilityConfigError([
        {
          field: 'database.pool',
          value: '[object]',
          expected: 'must be a pg.Pool (totalCount, idleCount, waitingCount)',
        },
      ]);
    }
    if (pool === undefined) {
      this.logger.log(
        'No pg.Pool found behind the client: pool figures are off (pass `database.pool` to get them)',
      );
      return;
    }
    const { query_timeout: queryTimeout, connectionTimeoutMillis } = pool.options ?? {};
    if (!queryTimeout || !connectionTimeoutMillis) {
      this.logger.warn(
        'The pg.Pool has no ' +
          [!queryTimeout && 'query_timeout', !connectionTimeoutMillis && 'connectionTimeoutMillis']
            .filter(Boolean)
            .join(' and ') +
          ': after DATABASE_QUERY_TIMEOUT gives up on a query that hangs (a dead network path), its connection ' +
          'stays checked out until the OS notices. Set both, e.g. to DATABASE_QUERY_TIMEOUT.',
      );
    }
  }

  /** One attempt, counted in flight until it settles. */
  private attempt<T>(
    fn: DatabaseOperation<TClient, T>,
    client: TClient,
    attempt: number,
    signal: AbortSignal,
  ): Promise<T> {
    let work: T | PromiseLike<T>;
    try {
      work = fn(client, { attempt, signal });
    } catch (error) {
      return Promise.reject(error);
    }
    return this.inFlight.track(Promise.resolve(work));
  }

  /** The transaction whose callback is running in this async context, if any. */
  private openTransaction(): TransactionScope<TClient> | undefined {
    const scope = this.insideTransaction.getStore();
    return scope?.open ? scope : undefined;
  }

  /** Inside a transaction: the statement runs once on `tx`; its error goes to the transaction's retry. */
  private once<T>(fn: DatabaseOperation<TClient, T>, inside: TransactionScope<TClient>): Promise<T> {
    return this.attempt(fn, inside.tx, 1, inside.signal);
  }

  /** Counts one operation: its outcome by class, its latency. */
  private observe<T>(run: () => Promise<T>): Promise<T> {
    const r = this.recorder;
    r.queries++;
    const started = this.clock.now();
    let result: Promise<T>;
    try {
      result = run();
    } catch (error) {
      result = Promise.reject(error);
    }
    return result.then(
      (value) => {
        r.succeeded(this.clock.now() - started);
        return value;
      },
      (error: unknown) => {
        r.failed(
          isCircuitOpenError(error) ? 'rejected' : classifyDatabaseError(error),
          this.clock.now() - started,
        );
        throw error;
      },
    );
  }

  private retryConfig(
    base: RetryConfig | undefined,
    call: RetryConfig | undefined,
    signal: AbortSignal | undefined,
    retryIf: (error: unknown) => boolean = isTransientDatabaseError,
  ): RetryConfig {
    const merged: RetryConfig = {
      ...RetryService.PresetConfigs.DATABASE,
      name: this.circuitName,
      retryIf,
      ...base,
      ...call,
    };
    const userOnRetry = merged.onRetry;
    merged.onRetry = (event: RetryEvent) => {
      this.recorder.retries++;
      userOnRetry?.(event);
    };
    if (signal !== undefined && merged.signal === undefined) merged.signal = signal;
    return merged;
  }

  /**
   * Options of a circuit this service creates (on its first call): database errors classified as
   * transient count, the rest do not; the call is bounded by DATABASE_QUERY_TIMEOUT. `forRoot({
   * circuits: { database: ... } })` wins field by field.
   */
  private circuitOptions(): CircuitOptions {
    const ms = this.config.database.queryTimeout;
    return (this.circuitSettings ??= { isFailure: isTransientDatabaseError, ...(ms > 0 && { timeout: ms }) });
  }
}
