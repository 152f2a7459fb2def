import { Clock } from '../core/common/clock.js';
import {
  DatabaseConnectError,
  describeDatabaseError,
  isTransientDatabaseError,
} from '../core/classification/database-errors.js';
import { runWithTimeout } from '../core/common/deadline.js';
import type { PrismaClientLike } from './database.types.js';

/** Backoff of the boot connect: 100 ms, doubling, at most 2 s, each with ±20 % jitter. */
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2_000;

export interface ConnectOptions {
  /** Give up after this long, in ms (0: one attempt). */
  timeoutMs: number;
  /** Limit of one attempt, in ms. */
  attemptTimeoutMs: number;
  clock: Clock;
  log: { log(message: string): void; warn(message: string): void };
}

export interface ConnectResult {
  attempts: number;
  elapsedMs: number;
}

/**
 * Connects the client and proves it with `SELECT 1` (with a driver adapter, `$connect` alone only
 * creates the pool), retrying transient failures with backoff until `timeoutMs`. A permanent error
 * (bad password, unknown database) fails at once: waiting cannot fix it.
 * @throws DatabaseConnectError
 */
export async function connectWithRetry(
  client: PrismaClientLike,
  options: ConnectOptions,
  onAttempt?: (attempt: number, error?: unknown) => void,
): Promise<ConnectResult> {
  const { clock, log, timeoutMs } = options;
  const start = clock.now();
  let delay = FIRST_DELAY_MS;
  for (let attempt = 1; ; attempt++) {
    const left = timeoutMs - (clock.now() - start);
    try {
      await runWithTimeout(
        async () => {
          await client.$connect();
          await client.$queryRawUnsafe('SELECT 1');
        },
        // The last attempt may overrun the limit by a little rather than be given no time at all.
        Math.min(options.attemptTimeoutMs, Math.max(50, left)),
        clock,
        'database connect',
      );
      const elapsedMs = clock.now() - start;
      onAttempt?.(attempt);
      log.log(
        `Connected to the database in ${elapsedMs} ms (${attempt} ${attempt === 1 ? 'attempt' : 'attempts'})`,
      );
      return { attempts: attempt, elapsedMs };
    } catch (error) {
      onAttempt?.(attempt, error);
      const elapsedMs = clock.now() - start;
      const remaining = timeoutMs - elapsedMs;
      if (!isTransientDatabaseError(error) || remaining <= 0) {
        throw new DatabaseConnectError(attempt, elapsedMs, timeoutMs, error);
      }
      const wait = Math.min(remaining, Math.round(delay * (0.8 + 0.4 * clock.random())));
      log.warn(
        `Database connect attempt ${attempt} failed (${describeDatabaseError(error)}); ` +
          `next attempt in ${wait} ms, ${Math.ceil(remaining / 100) / 10} s left of DATABASE_CONNECT_TIMEOUT`,
      );
      await clock.sleep(wait);
      delay = Math.min(MAX_DELAY_MS, delay * 2);
    }
  }
}
