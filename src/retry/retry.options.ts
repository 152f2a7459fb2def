import type { RetryPolicyOptions, RetryStats } from '../core/retry/retry.js';

/**
 * Options of one `executeWithRetry` call: `maxAttempts`, `baseDelay`, `maxDelay`,
 * `backoffMultiplier`, `jitter`, `retryIf`, `onRetry`, `signal`, `attemptTimeout`, `name`,
 * `budget`, `retryAfterMs`, `maxRetryAfter` and `deadlineAt`. Missing fields come from the module's `RETRY_*` settings.
 * Spread a preset to start from it: `{ ...RetryService.PresetConfigs.HTTP, name: 'anthropic' }`.
 * @publicApi
 */
export type RetryConfig = RetryPolicyOptions;

/** The names of `RetryService.PresetConfigs`, usable as `retry: 'HTTP'`. @publicApi */
export type RetryPresetName = 'FAST' | 'STANDARD' | 'DATABASE' | 'HTTP' | 'SLOW';

/**
 * A named retry of `forRoot({ retries: { anthropic: ... } })`: a preset name, or a retry config
 * (its missing fields come from the module's `RETRY_*` settings; its `name` defaults to the entry's).
 * @publicApi
 */
export type NamedRetryConfig = RetryPresetName | RetryConfig;

/**
 * Counters of one operation name, since the app started (or since the name was last evicted:
 * at most `RETRY_METRICS_CAPACITY` names are kept).
 * @publicApi
 */
export type RetryMetrics = Readonly<RetryStats>;

/** How many operation names keep metrics and a budget; the least recently used beyond that are dropped. */
export const RETRY_METRICS_CAPACITY = 1000;
