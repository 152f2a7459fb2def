export { RetryService } from './retry.service.js';
export { RETRY_METRICS_CAPACITY } from './retry.options.js';
export type { NamedRetryConfig, RetryConfig, RetryMetrics, RetryPresetName } from './retry.options.js';
export {
  retry,
  createRetryPolicy,
  createRetryStats,
  getRetryAttempts,
  retryAfterJitterMs,
  DEFAULT_RETRY_POLICY,
  RETRY_AFTER_MAX_JITTER_MS,
} from '../core/retry/retry.js';
export type {
  RetryableFunction,
  RetryEvent,
  RetryOptions,
  RetryPolicy,
  RetryPolicyOptions,
  RetryStats,
} from '../core/retry/retry.js';
export { createBackoff, backoffDelays, exponentialDelay } from '../core/retry/backoff.js';
export type { Backoff, BackoffOptions, RandomSource } from '../core/retry/backoff.js';
export { RetryBudget, DEFAULT_RETRY_BUDGET } from '../core/retry/budget.js';
export type { RetryBudgetLimits } from '../core/retry/budget.js';
export {
  isRetryableError,
  isRetryableHttpError,
  isRetryableDatabaseError,
} from '../core/classification/retry-classification.js';
export { parseRetryAfter, retryAfterMsOf } from '../core/classification/retry-after.js';
