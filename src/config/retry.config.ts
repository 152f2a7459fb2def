import type { JitterMode } from '../core/retry/backoff.js';
import {
  bool,
  durationMs,
  field,
  intAtLeast,
  numberBetween,
  oneOf,
  positiveDurationMs,
} from './config-fields.js';

export type { JitterMode };

/** Module-wide retry defaults, after parsing. @publicApi */
export interface RetryDefaults {
  /** Total calls, the first included. @default 3 */
  maxAttempts: number;
  /** Delay before the first retry, before jitter, in ms. @default 1000 */
  baseDelay: number;
  /** Upper bound of any backoff delay, in ms. @default 30000 */
  maxDelay: number;
  /** Longest `Retry-After` honoured, in ms; a server asking for more is not retried. @default 60000 */
  maxRetryAfter: number;
  /** Growth factor between delays. @default 2 */
  backoffMultiplier: number;
  /** @default 'full' */
  jitter: JitterMode;
  /** Whether retry budgets apply. @default true */
  budgetEnabled: boolean;
  /** Retries allowed as a share of recent calls, per name. @default 0.2 */
  budgetRatio: number;
  /** Window over which the budget counts calls, in ms. @default 10000 */
  budgetWindow: number;
  /** Retries always allowed per second, whatever the ratio. @default 5 */
  budgetMinPerSecond: number;
}

export const RETRY_FIELDS = [
  field({
    env: 'RETRY_MAX_ATTEMPTS',
    key: 'maxAttempts',
    default: 3,
    parse: intAtLeast(1),
    description: 'Total attempts, the first included (1 = no retry)',
  }),
  field({
    env: 'RETRY_BASE_DELAY',
    key: 'baseDelay',
    default: 1_000,
    parse: durationMs,
    description: 'Delay before the first retry, before jitter, in ms',
  }),
  field({
    env: 'RETRY_MAX_DELAY',
    key: 'maxDelay',
    default: 30_000,
    parse: durationMs,
    description: 'Cap on any single backoff delay, in ms',
  }),
  field({
    env: 'RETRY_MAX_RETRY_AFTER',
    key: 'maxRetryAfter',
    default: 60_000,
    parse: durationMs,
    description:
      'Longest Retry-After honoured, in ms (plus up to 10 %, at most 1 s, of jitter); a server asking for more is not retried',
  }),
  field({
    env: 'RETRY_BACKOFF_MULTIPLIER',
    key: 'backoffMultiplier',
    default: 2,
    parse: numberBetween(1, 100),
    description: 'Growth factor between successive delays',
  }),
  field({
    env: 'RETRY_JITTER',
    key: 'jitter',
    default: 'full' as JitterMode,
    parse: oneOf<JitterMode>('full', 'equal', 'decorrelated', 'none'),
    description: 'Jitter of backoff delays: full [0, d], equal [d/2, d], decorrelated (AWS) or none',
  }),
  field({
    env: 'RETRY_BUDGET_ENABLED',
    key: 'budgetEnabled',
    default: true,
    parse: bool,
    description: 'Limit the retries of each operation name to a share of its recent calls (retry budget)',
  }),
  field({
    env: 'RETRY_BUDGET_RATIO',
    key: 'budgetRatio',
    default: 0.2,
    parse: numberBetween(0, 10),
    description: 'Retries allowed as a ratio of calls in the budget window (0.2 = 20 %)',
  }),
  field({
    env: 'RETRY_BUDGET_WINDOW',
    key: 'budgetWindow',
    default: 10_000,
    parse: positiveDurationMs,
    description: 'Window of the retry budget, in ms',
  }),
  field({
    env: 'RETRY_BUDGET_MIN_PER_SECOND',
    key: 'budgetMinPerSecond',
    default: 5,
    parse: intAtLeast(0),
    description: 'Retries per second always allowed by the budget, so quiet names can still retry',
  }),
] as const;
