import {
  isRetryableDatabaseError,
  isRetryableHttpError,
  retryAfterMsOf,
} from '../classification/retry-classification.js';
import type { RetryPolicyOptions as RetryConfig } from './retry.js';

/**
 * The presets of `RetryService.PresetConfigs`. Each fixes the attempts and delays; jitter and the
 * budget come from the module settings. Frozen: spread one to change a field.
 */
export const RETRY_PRESETS = Object.freeze({
  /** Lightweight operations (cache, in-cluster calls): 3 attempts, 100 ms → 1 s. */
  FAST: Object.freeze<RetryConfig>({ maxAttempts: 3, baseDelay: 100, maxDelay: 1_000, backoffMultiplier: 2 }),
  /** The defaults of the seed: 3 attempts, 1 s → 30 s, x2. */
  STANDARD: Object.freeze<RetryConfig>({
    maxAttempts: 3,
    baseDelay: 1_000,
    maxDelay: 30_000,
    backoffMultiplier: 2,
  }),
  /**
   * Prisma / PostgreSQL: 4 attempts, 200 ms → 5 s, x3; only transient codes (connection lost,
   * serialization failure, deadlock, pool timeout) are retried.
   */
  DATABASE: Object.freeze<RetryConfig>({
    maxAttempts: 4,
    baseDelay: 200,
    maxDelay: 5_000,
    backoffMultiplier: 3,
    retryIf: isRetryableDatabaseError,
  }),
  /**
   * Outbound HTTP and provider SDKs: 4 attempts, 500 ms → 30 s, x2; network errors, timeouts and
   * 408/425/429/5xx; honours `Retry-After` / `retry-after-ms` up to `maxRetryAfter` (plus a small
   * jitter), and gives up when the server asks for more.
   */
  HTTP: Object.freeze<RetryConfig>({
    maxAttempts: 4,
    baseDelay: 500,
    maxDelay: 30_000,
    backoffMultiplier: 2,
    retryIf: isRetryableHttpError,
    retryAfterMs: retryAfterMsOf,
  }),
  /** Heavy work (batch jobs, reports): 5 attempts, 5 s → 60 s, x2. */
  SLOW: Object.freeze<RetryConfig>({
    maxAttempts: 5,
    baseDelay: 5_000,
    maxDelay: 60_000,
    backoffMultiplier: 2,
  }),
});
