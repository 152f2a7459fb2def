export { RetryService } from './retry.service.js';
export { RETRY_METRICS_CAPACITY } from './retry.options.js';
export type { RetryConfig, RetryMetrics } from './retry.options.js';
export {
  retry,
  createRetryPolicy,
  createRetryStats,
  getRetryAttempts,
  DEFAULT_RETRY_POLICY,
} from '../core/retry.js';
export type {
  RetryableFunction,
  RetryEvent,
  RetryOptions,
  RetryPolicy,
  RetryPolicyOptions,
  RetryStats,
} from '../core/retry.js';
export { createBackoff, backoffDelays, exponentialDelay } from '../core/backoff.js';
export type { Backoff, BackoffOptions, RandomSource } from '../core/backoff.js';
export { RetryBudget, DEFAULT_RETRY_BUDGET } from '../core/retry-budget.js';
export type { RetryBudgetLimits } from '../core/retry-budget.js';
export {
  isRetryableError,
  isRetryableHttpError,
  isRetryableDatabaseError,
  retryAfterMsOf,
  parseRetryAfter,
} from '../core/retry-classification.js';
