/**
 * The framework-free retry loop. Options are normalised once into a frozen {@link RetryPolicy};
 * the first attempt then costs one `.then()` on the caller's promise, and everything else (backoff,
 * classification, budget, hooks) happens only after a failure.
 */
import { createBackoff, Backoff, JitterMode } from './backoff.js';
import { Clock, MAX_TIMER_MS, systemClock } from '../common/clock.js';
import { ConfigIssue, ReliabilityConfigError, isCircuitOpenError } from '../common/errors.js';
import { DEFAULT_RETRY_BUDGET, RetryBudget, RetryBudgetLimits } from './budget.js';
import { isRetryableError } from '../classification/retry-classification.js';
import { runWithTimeout } from '../common/deadline.js';
import { isThenable } from '../common/is-thenable.js';

/** What `onRetry` receives, before each backoff. @publicApi */
export interface RetryEvent {
  /** The error of the attempt that failed. */
  error: unknown;
  /** The number of the attempt that failed (1 = the first call); the next one is `attempt + 1`. */
  attempt: number;
  /** How long the loop now sleeps before the next attempt, in ms. */
  delayMs: number;
}

/**
 * Options of one retried operation. Every field is optional; missing ones come from the defaults
 * (the module's `RETRY_*` settings when called through `RetryService`).
 * @publicApi
 */
export interface RetryPolicyOptions {
  /** Total calls, the first included (1 = no retry). @default 3 */
  maxAttempts?: number;
  /** Delay before the first retry, before jitter, in ms. @default 1000 */
  baseDelay?: number;
  /** Upper bound of every backoff delay, in ms (a `Retry-After` is bounded by `maxRetryAfter`). @default 30000 */
  maxDelay?: number;
  /** Growth factor between delays: the delay before retry n is `min(maxDelay, baseDelay * multiplier^(n-1))`. @default 2 */
  backoffMultiplier?: number;
  /** `full` [0, d], `equal` [d/2, d], `decorrelated` (AWS), `none`. @default 'full' */
  jitter?: JitterMode;
  /**
   * Whether an error is worth another attempt. `attempt` is the number of the attempt that failed.
   * A `CircuitOpenError` and the caller's own abort are never retried, whatever this returns.
   * @default isRetryableError (anything but 4xx other than 408/425/429, `retryable: false`, aborts)
   */
  retryIf?: (error: unknown, attempt: number) => boolean;
  /** Called before each backoff. An exception thrown here is ignored. */
  onRetry?: (event: RetryEvent) => void;
  /** The caller's signal: aborting it stops the loop; a pending backoff wakes at once and rejects with the reason. */
  signal?: AbortSignal;
  /** Timeout of each attempt, in ms (0 = none). The attempt's signal is aborted with a `TimeoutError`. @default 0 */
  attemptTimeout?: number;
  /** The key of the metrics and of the retry budget. @default 'default' */
  name?: string;
  /**
   * Retry budget of this name: `false` to turn it off, `true` for the defaults, or limits.
   * @default the module's RETRY_BUDGET_* settings
   */
  budget?: boolean | Partial<RetryBudgetLimits>;
  /**
   * A delay the failed call asked for (e.g. from `Retry-After`), in ms, used instead of the backoff
   * delay, plus a small positive jitter (see {@link retryAfterJitterMs}). `undefined` keeps the
   * backoff delay. The HTTP preset sets it.
   */
  retryAfterMs?: (error: unknown, now: number) => number | undefined;
  /**
   * The longest delay that `retryAfterMs` may ask for, in ms. A server that asks for more is not
   * retried early: the loop gives up and rethrows the error. @default 60000 (RETRY_MAX_RETRY_AFTER)
   */
  maxRetryAfter?: number;
  /**
   * When the caller stops waiting (epoch ms on the loop's clock), e.g. a route's total timeout. A
   * retry whose wait (the backoff, or the `retryAfterMs` asked, with its jitter) ends after it is
   * not made: the loop gives up at once and rethrows the error, instead of sleeping until the
   * caller's own timeout, and takes nothing from the budget.
   */
  deadlineAt?: number;
}

/** Per-name counters, updated by the loop. @publicApi */
export interface RetryStats {
  /** Calls of the retried operation. */
  operations: number;
  /** Calls of the function, retries included. */
  attempts: number;
  /** Operations that succeeded at the first attempt. */
  firstTrySuccesses: number;
  /** Operations that succeeded after at least one retry. */
  successesAfterRetry: number;
  /** Operations that failed with a retryable error on their last allowed attempt. */
  exhaustions: number;
  /** Operations stopped by an error that is not worth retrying, or that asked for a wait beyond `maxRetryAfter`. */
  nonRetryableFailures: number;
  /** Operations stopped because the retry budget was spent. */
  budgetRejections: number;
  /** Operations stopped by the caller's abort. */
  aborts: number;
  /** Total time slept in backoffs, in ms. */
  totalDelayMs: number;
}

/**
 * Counters with their first-success handler built once, so that the first attempt of a call
 * allocates no closure for it (about 15 ns of a 100 ns fast path).
 */
class RetryCounters implements RetryStats {
  operations = 0;
  attempts = 0;
  firstTrySuccesses = 0;
  successesAfterRetry = 0;
  exhaustions = 0;
  nonRetryableFailures = 0;
  budgetRejections = 0;
  aborts = 0;
  totalDelayMs = 0;
  readonly countFirstSuccess = <T>(value: T): T => {
    this.firstTrySuccesses++;
    return value;
  };
}

/** A fresh set of zeroed counters. @publicApi */
export function createRetryStats(): RetryStats {
  return new RetryCounters();
}

/** A plain copy of the counters, for metrics endpoints. @publicApi */
export function copyRetryStats(stats: RetryStats): RetryStats {
  return {
    operations: stats.operations,
    attempts: stats.attempts,
    firstTrySuccesses: stats.firstTrySuccesses,
    successesAfterRetry: stats.successesAfterRetry,
    exhaustions: stats.exhaustions,
    nonRetryableFailures: stats.nonRetryableFailures,
    budgetRejections: stats.budgetRejections,
    aborts: stats.aborts,
    totalDelayMs: stats.totalDelayMs,
  };
}

/** Options of the core {@link retry} function: a policy's options plus the state shared across calls. @publicApi */
export interface RetryOptions extends RetryPolicyOptions {
  /** Budget state shared by the calls of one name. Without it, no budget applies. */
  budgetState?: RetryBudget;
  /** Counters to update. */
  stats?: RetryStats;
}

/** Options after validation and defaults: read-only, built once, reused by every call. @publicApi */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelay: number;
  readonly maxDelay: number;
  readonly backoffMultiplier: number;
  /** The same as `backoffMultiplier`, so that a policy is also a `BackoffOptions`. */
  readonly multiplier: number;
  readonly jitter: JitterMode;
  readonly retryIf: (error: unknown, attempt: number) => boolean;
  readonly onRetry: ((event: RetryEvent) => void) | undefined;
  readonly signal: AbortSignal | undefined;
  readonly attemptTimeout: number;
  readonly name: string;
  /** `undefined` when the budget is off. */
  readonly budget: RetryBudgetLimits | undefined;
  readonly retryAfterMs: ((error: unknown, now: number) => number | undefined) | undefined;
  readonly maxRetryAfter: number;
  readonly deadlineAt: number | undefined;
}

const POLICY = Symbol.for('nestjs-reliability.retry-policy');
const JITTERS: readonly string[] = ['full', 'equal', 'decorrelated', 'none'];

/**
 * A class rather than an object literal: one hidden class for every policy keeps the per-call merge
 * cheap (about 20 ns). Not frozen, for the same reason (freezing costs more than the merge).
 */
class NormalizedRetryPolicy implements RetryPolicy {
  constructor(
    readonly maxAttempts: number,
    readonly baseDelay: number,
    readonly maxDelay: number,
    readonly backoffMultiplier: number,
    readonly jitter: JitterMode,
    readonly retryIf: (error: unknown, attempt: number) => boolean,
    readonly onRetry: ((event: RetryEvent) => void) | undefined,
    readonly signal: AbortSignal | undefined,
    readonly attemptTimeout: number,
    readonly name: string,
    readonly budget: RetryBudgetLimits | undefined,
    readonly retryAfterMs: ((error: unknown, now: number) => number | undefined) | undefined,
    readonly maxRetryAfter: number,
    readonly deadlineAt: number | undefined,
  ) {}

  get multiplier(): number {
    return this.backoffMultiplier;
  }
}
Object.defineProperty(NormalizedRetryPolicy.prototype, POLICY, { value: true });

/**
 * The built-in defaults: 3 attempts, 1 s base, 30 s cap, x2, full jitter, default budget, a
 * `Retry-After` honoured up to 60 s. @publicApi
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze(
  new NormalizedRetryPolicy(
    3,
    1_000,
    30_000,
    2,
    'full',
    isRetryableError,
    undefined,
    undefined,
    0,
    'default',
    DEFAULT_RETRY_BUDGET,
    undefined,
    60_000,
    undefined,
  ),
);

/** True for an object built by {@link createRetryPolicy}. */
export function isRetryPolicy(value: unknown): value is RetryPolicy {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[POLICY] === true;
}

const isNonNegative = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v < Infinity;
/** A delay in ms that a timer can arm as given (see MAX_TIMER_MS). */
const isDuration = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= MAX_TIMER_MS;

/**
 * Validates `options` and fills the rest from `base`. Throws a {@link ReliabilityConfigError}
 * naming each bad field and its value. Cheap enough to run per call, but build it once where you can.
 * @publicApi
 */
export function createRetryPolicy(
  options: RetryPolicyOptions,
  base: RetryPolicy = DEFAULT_RETRY_POLICY,
): RetryPolicy {
  const o = options;
  const maxAttempts = o.maxAttempts ?? base.maxAttempts;
  const baseDelay = o.baseDelay ?? base.baseDelay;
  const maxDelay = o.maxDelay ?? base.maxDelay;
  const multiplier = o.backoffMultiplier ?? base.backoffMultiplier;
  const jitter = o.jitter ?? base.jitter;
  const retryIf = o.retryIf ?? base.retryIf;
  const onRetry = o.onRetry ?? base.onRetry;
  const attemptTimeout = o.attemptTimeout ?? base.attemptTimeout;
  const name = o.name ?? base.name;
  const budget = o.budget === undefined ? base.budget : budgetLimits(o.budget, base.budget);
  const retryAfterMs = o.retryAfterMs ?? base.retryAfterMs;
  const maxRetryAfter = o.maxRetryAfter ?? base.maxRetryAfter;
  const signal = o.signal ?? base.signal;
  const deadlineAt = o.deadlineAt ?? base.deadlineAt;
  // One combined check keeps the valid path short; the detailed report is built only on failure.
  if (
    !(Number.isInteger(maxAttempts) && maxAttempts >= 1) ||
    !isDuration(baseDelay) ||
    !isDuration(maxDelay) ||
    !(isNonNegative(multiplier) && multiplier >= 1) ||
    !isDuration(attemptTimeout) ||
    !isDuration(maxRetryAfter) ||
    typeof retryIf !== 'function' ||
    (onRetry !== undefined && typeof onRetry !== 'function') ||
    (retryAfterMs !== undefined && typeof retryAfterMs !== 'function') ||
    typeof name !== 'string' ||
    !(jitter === 'full' || jitter === 'equal' || jitter === 'decorrelated' || jitter === 'none') ||
    (signal !== undefined && typeof signal?.aborted !== 'boolean') ||
    (deadlineAt !== undefined && !Number.isFinite(deadlineAt)) ||
    (budget !== undefined && !validBudget(budget))
  ) {
    throw new ReliabilityConfigError(policyIssues(o, name, budget));
  }
  return new NormalizedRetryPolicy(
    maxAttempts,
    baseDelay,
    maxDelay,
    multiplier,
    jitter,
    retryIf,
    onRetry,
    signal,
    attemptTimeout,
    name,
    budget,
    retryAfterMs,
    maxRetryAfter,
    deadlineAt,
  );
}

function budgetLimits(
  budget: boolean | Partial<RetryBudgetLimits>,
  base: RetryBudgetLimits | undefined,
): RetryBudgetLimits | undefined {
  if (budget === false) return undefined;
  const from = base ?? DEFAULT_RETRY_BUDGET;
  if (budget === true) return from;
  return {
    ratio: budget.ratio ?? from.ratio,
    minPerSecond: budget.minPerSecond ?? from.minPerSecond,
    windowMs: budget.windowMs ?? from.windowMs,
  };
}

function validBudget(b: RetryBudgetLimits): boolean {
  return isNonNegative(b.ratio) && isNonNegative(b.minPerSecond) && isDuration(b.windowMs) && b.windowMs > 0;
}

function policyIssues(
  o: RetryPolicyOptions,
  name: string,
  budget: RetryBudgetLimits | undefined,
): ConfigIssue[] {
  const at = (key: string): string =>
    `retry${typeof name === 'string' ? `[${JSON.stringify(name)}]` : ''}.${key}`;
  const issues: ConfigIssue[] = [];
  const check = (key: keyof RetryPolicyOptions, ok: (v: any) => boolean, expected: string): void => {
    const v = o[key];
    if (v !== undefined && !ok(v)) issues.push({ field: at(key), value: v, expected });
  };
  const upTo = `up to ${MAX_TIMER_MS}`;
  check('maxAttempts', (v) => Number.isInteger(v) && v >= 1, 'must be an integer of at least 1');
  check('baseDelay', isDuration, `must be a non-negative number of milliseconds ${upTo}`);
  check('maxDelay', isDuration, `must be a non-negative number of milliseconds ${upTo}`);
  check('backoffMultiplier', (v) => isNonNegative(v) && v >= 1, 'must be a number of at least 1');
  check('attemptTimeout', isDuration, `must be a non-negative number of milliseconds ${upTo} (0 = none)`);
  check('maxRetryAfter', isDuration, `must be a non-negative number of milliseconds ${upTo}`);
  check('jitter', (v) => JITTERS.includes(v), `must be one of ${JITTERS.join(', ')}`);
  check('retryIf', (v) => typeof v === 'function', 'must be a function (error, attempt) => boolean');
  check('onRetry', (v) => typeof v === 'function', 'must be a function');
  check(
    'retryAfterMs',
    (v) => typeof v === 'function',
    'must be a function (error, now) => number | undefined',
  );
  check('name', (v) => typeof v === 'string', 'must be a string');
  check('signal', (v) => typeof v?.aborted === 'boolean', 'must be an AbortSignal');
  check('deadlineAt', (v) => Number.isFinite(v), 'must be a time in epoch milliseconds');
  if (budget !== undefined && !validBudget(budget)) {
    issues.push({
      field: at('budget'),
      value: o.budget,
      expected: `must be a boolean or { ratio >= 0, minPerSecond >= 0, 0 < windowMs <= ${MAX_TIMER_MS} }`,
    });
  }
  if (issues.length === 0) issues.push({ field: at('*'), value: o, expected: 'must be valid retry options' });
  return issues;
}

const ATTEMPTS = Symbol.for('nestjs-reliability.retry-attempts');

/**
 * How many attempts were made before this error was rethrown by a retry loop (exhausted, not
 * retryable, or stopped by the budget); `undefined` for other errors.
 * @publicApi
 */
export function getRetryAttempts(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const n = (error as Record<symbol, unknown>)[ATTEMPTS];
  return typeof n === 'number' ? n : undefined;
}

/** Attaches the attempt count without changing the error's identity, class or enumerable keys. */
function withAttempts(error: unknown, attempts: number): unknown {
  if ((typeof error === 'object' && error !== null) || typeof error === 'function') {
    try {
      Object.defineProperty(error, ATTEMPTS, { value: attempts, enumerable: false, configurable: true });
    } catch {
      // A frozen error cannot carry the count; it is still rethrown unchanged.
    }
  }
  return error;
}

/** Passed when the caller gave no signal and no attempt timeout: nothing can abort the attempt. */
const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/** The function being retried: `attempt` counts from 1; `signal` aborts with the caller or the attempt timeout. @publicApi */
export type RetryableFunction<T> = (attempt: number, signal: AbortSignal) => T | PromiseLike<T>;

/**
 * Runs `fn`, retrying failures the policy deems worth it, with backoff between attempts.
 * On success returns the value; otherwise rethrows the last error unchanged (same object), with
 * the attempt count readable through {@link getRetryAttempts}.
 * @publicApi
 */
export function retry<T>(
  fn: RetryableFunction<T>,
  options: RetryOptions | RetryPolicy = {},
  clock: Clock = systemClock,
): Promise<T> {
  let policy: RetryPolicy;
  try {
    policy = isRetryPolicy(options) ? options : createRetryPolicy(options);
  } catch (error) {
    return Promise.reject(error);
  }
  const { stats, budgetState } = options as RetryOptions;
  return runRetry(fn, policy, clock, stats, budgetState);
}

/**
 * The loop behind {@link retry} and `RetryService`, with a ready policy and the per-name state.
 * The first attempt is handled without an `async` frame: the common case is a success.
 */
export function runRetry<T>(
  fn: RetryableFunction<T>,
  policy: RetryPolicy,
  clock: Clock,
  stats: RetryStats | undefined,
  budget: RetryBudget | undefined,
): Promise<T> {
  const signal = policy.signal;
  if (stats !== undefined) stats.operations++;
  if (signal !== undefined && signal.aborted) {
    if (stats !== undefined) stats.aborts++;
    return Promise.reject(signal.reason);
  }
  if (stats !== undefined) stats.attempts++;
  if (budget !== undefined && policy.budget !== undefined) budget.recordCall();
  let result: T | PromiseLike<T>;
  try {
    result =
      policy.attemptTimeout > 0 ? attemptWithTimeout(fn, 1, policy, clock) : fn(1, signal ?? NEVER_ABORTED);
  } catch (error) {
    return afterFailure(fn, policy, clock, stats, budget, error);
  }
  if (!isThenable(result)) {
    if (stats !== undefined) stats.firstTrySuccesses++;
    return Promise.resolve(result);
  }
  const promise = result instanceof Promise ? (result as Promise<T>) : Promise.resolve(result);
  return promise.then(
    stats === undefined
      ? undefined
      : stats instanceof RetryCounters
        ? stats.countFirstSuccess
        : (value) => {
            stats.firstTrySuccesses++;
            return value;
          },
    (error: unknown) => afterFailure(fn, policy, clock, stats, budget, error),
  );
}

function attemptWithTimeout<T>(
  fn: RetryableFunction<T>,
  attempt: number,
  policy: RetryPolicy,
  clock: Clock,
): Promise<T> {
  // A function that ignores its signal lets runWithTimeout skip creating an AbortController.
  const run =
    fn.length < 2
      ? () => fn(attempt, policy.signal ?? NEVER_ABORTED)
      : (signal: AbortSignal) => fn(attempt, signal);
  return runWithTimeout(run, policy.attemptTimeout, clock, policy.name, policy.signal);
}

/** Everything after the first failure: classify, check the budget, back off, try again. */
async function afterFailure<T>(
  fn: RetryableFunction<T>,
  policy: RetryPolicy,
  clock: Clock,
  stats: RetryStats | undefined,
  budget: RetryBudget | undefined,
  firstError: unknown,
): Promise<T> {
  const signal = policy.signal;
  let error = firstError;
  let backoff: Backoff | undefined;
  for (let attempt = 1; ; attempt++) {
    // The caller's abort ends the loop with whatever the attempt threw (often the abort reason itself).
    if (signal !== undefined && signal.aborted) {
      if (stats !== undefined) stats.aborts++;
      throw error;
    }
    if (isCircuitOpenError(error) || !wantsRetry(policy, error, attempt)) {
      if (stats !== undefined) stats.nonRetryableFailures++;
      throw withAttempts(error, attempt);
    }
    if (attempt >= policy.maxAttempts) {
      if (stats !== undefined) stats.exhaustions++;
      throw withAttempts(error, attempt);
    }
    const asked = askedDelay(policy, error, clock);
    // A server that asks for a longer wait than we accept is not retried before its time.
    if (asked !== undefined && asked > policy.maxRetryAfter) {
      if (stats !== undefined) stats.nonRetryableFailures++;
      throw withAttempts(error, attempt);
    }
    backoff = backoff === undefined ? createBackoff(policy, () => clock.random()) : backoff.next();
    const delayMs =
      asked === undefined ? backoff.delayMs : asked + retryAfterJitterMs(asked, unitRandom(clock));
    // Nor is any wait (backoff or asked, with its jitter) that ends after the caller stops waiting
    // (a route's total timeout): checked before the budget, which such a retry must not spend.
    if (policy.deadlineAt !== undefined && clock.now() + delayMs > policy.deadlineAt) {
      if (stats !== undefined) stats.nonRetryableFailures++;
      throw withAttempts(error, attempt);
    }
    if (budget !== undefined && policy.budget !== undefined && !budget.tryAcquire(policy.budget)) {
      if (stats !== undefined) stats.budgetRejections++;
      throw withAttempts(error, attempt);
    }
    if (policy.onRetry !== undefined) {
      try {
        policy.onRetry({ error, attempt, delayMs });
      } catch {
        // A telemetry hook must not change the outcome of the operation.
      }
    }
    if (delayMs > 0) {
      const started = clock.now();
      try {
        await clock.sleep(delayMs, signal);
      } catch (reason) {
        if (stats !== undefined) {
          stats.totalDelayMs += Math.max(0, clock.now() - started);
          stats.aborts++;
        }
        throw reason;
      }
      if (stats !== undefined) stats.totalDelayMs += delayMs;
    }
    if (signal !== undefined && signal.aborted) {
      if (stats !== undefined) stats.aborts++;
      throw signal.reason;
    }
    if (stats !== undefined) stats.attempts++;
    try {
      const value = await (policy.attemptTimeout > 0
        ? attemptWithTimeout(fn, attempt + 1, policy, clock)
        : fn(attempt + 1, signal ?? NEVER_ABORTED));
      if (stats !== undefined) stats.successesAfterRetry++;
      return value;
    } catch (e) {
      error = e;
    }
  }
}

/** A `retryIf` that throws counts as "do not retry": the original error is what the caller sees. */
function wantsRetry(policy: RetryPolicy, error: unknown, attempt: number): boolean {
  try {
    return Boolean(policy.retryIf(error, attempt));
  } catch {
    return false;
  }
}

/** The delay the failed call asked for (`retryAfterMs`), or `undefined` to use the backoff. */
function askedDelay(policy: RetryPolicy, error: unknown, clock: Clock): number | undefined {
  if (policy.retryAfterMs === undefined) return undefined;
  let asked: number | undefined;
  try {
    asked = policy.retryAfterMs(error, clock.now());
  } catch {
    return undefined;
  }
  return typeof asked === 'number' && asked >= 0 && asked <= Number.MAX_VALUE ? asked : undefined;
}

/** The most jitter added to a `Retry-After` delay, in ms. */
export const RETRY_AFTER_MAX_JITTER_MS = 1_000;

/**
 * The positive jitter added to a delay a server asked for, so that the clients it told to wait
 * do not all come back at the same instant: up to 10 % of the delay, at most
 * `RETRY_AFTER_MAX_JITTER_MS`; never less than asked. `random` is a draw in [0, 1].
 * @publicApi
 */
export function retryAfterJitterMs(askedMs: number, random: number): number {
  return Math.min(RETRY_AFTER_MAX_JITTER_MS, askedMs * 0.1) * random;
}

function unitRandom(clock: Clock): number {
  const r = clock.random();
  return r > 0 ? (r < 1 ? r : 1) : 0;
}
