import { BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Clock, Sleepers, systemClock } from '../core/common/clock.js';
import { RetryBudgetLimits } from '../core/retry/budget.js';
import {
  copyRetryStats,
  createRetryPolicy,
  isRetryPolicy,
  RetryableFunction,
  RetryPolicy,
  runRetry,
} from '../core/retry/retry.js';
import { ReliabilityConfig, resolveReliabilityConfig } from '../config/reliability-config.js';
import { ReliabilityConfigError } from '../core/common/errors.js';
import { RELIABILITY_CLOCK, RELIABILITY_CONFIG, RELIABILITY_MODULE_OPTIONS } from '../reliability.tokens.js';
import type { ReliabilityModuleOptions } from '../reliability-options.interface.js';
import { RETRY_METRICS_CAPACITY, RetryConfig, RetryMetrics } from './retry.options.js';
import { RETRY_PRESETS } from '../core/retry/presets.js';
import { isRetryPresetName, resolveNamedRetries, unknownRetryName } from './retry-names.js';
import { RetryRegistry } from '../core/retry/registry.js';

/**
 * Retries with exponential backoff and jitter, per-name retry budgets and metrics.
 *
 * ```ts
 * const reply = await this.retry.executeWithRetry(
 *   (attempt, signal) => anthropic.messages.create(body, { signal }),
 *   { ...RetryService.PresetConfigs.HTTP, name: 'anthropic' },
 * );
 * ```
 * @publicApi
 */
@Injectable()
export class RetryService implements BeforeApplicationShutdown {
  /**
   * Ready-made configurations (see docs/retry.md for their numbers). Pass one as is, or spread it
   * and override fields: `{ ...RetryService.PresetConfigs.DATABASE, name: 'orders' }`.
   */
  static readonly PresetConfigs: Readonly<{
    FAST: RetryConfig;
    STANDARD: RetryConfig;
    DATABASE: RetryConfig;
    HTTP: RetryConfig;
    SLOW: RetryConfig;
  }> = RETRY_PRESETS;

  protected readonly clock: Clock;
  private readonly logger = new Logger('RetryService');
  /** The module defaults (`RETRY_*`), normalised once. */
  protected readonly defaults: RetryPolicy;
  /** The module's budget limits, also used by a per-call `budget: true` when budgets are off by default. */
  private readonly budgetLimits: RetryBudgetLimits;
  /**
   * Frozen configs (the presets, and any config the app froze) merged with the defaults once:
   * such a config cannot change, so passing it again costs one lookup instead of a merge.
   */
  private readonly frozenPolicies = new WeakMap<RetryConfig, RetryPolicy>();
  private readonly registry: RetryRegistry;
  /** `forRoot({ retries })`: each config as given (for `@UseResilience`) and its policy, by name. */
  private readonly named = new Map<string, { config: RetryConfig; policy: RetryPolicy }>();
  /** Every backoff in progress; woken at shutdown, after the drain, so none holds the process. */
  private readonly sleepers: Sleepers;

  constructor(
    @Optional() @Inject(RELIABILITY_CONFIG) config?: ReliabilityConfig,
    @Optional() @Inject(RELIABILITY_CLOCK) clock?: Clock,
    @Optional() @Inject(RELIABILITY_MODULE_OPTIONS) options?: Pick<ReliabilityModuleOptions, 'retries'>,
  ) {
    const base = clock ?? systemClock;
    this.sleepers = new Sleepers(base);
    this.clock = this.stoppableClock(base);
    const d = (config ?? resolveReliabilityConfig({}, () => undefined)).retry;
    this.budgetLimits = {
      ratio: d.budgetRatio,
      minPerSecond: d.budgetMinPerSecond,
      windowMs: d.budgetWindow,
    };
    this.defaults = Object.freeze(
      createRetryPolicy({
        maxAttempts: d.maxAttempts,
        baseDelay: d.baseDelay,
        maxDelay: d.maxDelay,
        maxRetryAfter: d.maxRetryAfter,
        backoffMultiplier: d.backoffMultiplier,
        jitter: d.jitter,
        budget: d.budgetEnabled ? this.budgetLimits : false,
      }),
    );
    for (const preset of Object.values(RETRY_PRESETS)) {
      this.frozenPolicies.set(preset, Object.freeze(createRetryPolicy(preset, this.defaults)));
    }
    // A bad entry stops boot here, naming it and its field.
    for (const [name, config] of resolveNamedRetries(options?.retries, this.defaults)) {
      this.named.set(name, { config, policy: Object.freeze(this.policyOf(config)) });
    }
    this.registry = new RetryRegistry(this.clock, RETRY_METRICS_CAPACITY, (name, kept, ignored, declared) =>
      this.logger.warn(
        `Retry budget "${name}" is defined with different limits by different calls: it keeps ` +
          `${describeLimits(kept)} ${declared ? 'from forRoot({ retries })' : 'from its first use'} ` +
          `and ignores ${describeLimits(ignored)}. ` +
          `One name has one budget: give its calls the same budget, or different names.`,
      ),
    );
    // A declared name's budget has its declared limits, whichever call comes first.
    const declaredBy = new Map<string, string>();
    for (const [entry, { policy }] of this.named) {
      if (policy.budget === undefined) continue;
      const first = declaredBy.get(policy.name);
      if (first === undefined) {
        declaredBy.set(policy.name, entry);
        this.registry.declare(policy.name, policy.budget);
      } else if (!sameLimits(this.named.get(first)!.policy.budget!, policy.budget)) {
        throw new ReliabilityConfigError([
          {
            field: `retries.${entry}.budget`,
            value: policy.budget,
            expected: `must match the budget of retries.${first}, which has the same name "${policy.name}"`,
          },
        ]);
      }
    }
  }

  /**
   * Runs after ShutdownService's drain: requests still in flight had their chance to retry. A backoff
   * still sleeping now rejects with the shutdown reason instead of keeping the process alive.
   */
  beforeApplicationShutdown(): void {
    this.sleepers.wakeAll(new Error('RetryService: the application is shutting down'));
    this.registry.stop();
  }

  /** The clock, with every sleep also woken by `beforeApplicationShutdown`. Only backoffs pay for it. */
  private stoppableClock(clock: Clock): Clock {
    const sleepers = this.sleepers;
    return {
      now: () => clock.now(),
      setTimer: (fn, ms) => clock.setTimer(fn, ms),
      clearTimer: (handle) => clock.clearTimer(handle),
      random: () => clock.random(),
      sleep: (ms, signal) => sleepers.sleep(ms, signal),
    };
  }

  /**
   * Calls `fn` until it succeeds, the error is not worth retrying, `maxAttempts` is reached or the
   * name's retry budget is spent; then rethrows the last error unchanged (see `getRetryAttempts`).
   * `fn` gets the attempt number (from 1) and a signal that aborts with the caller's `signal` or
   * the `attemptTimeout`. An invalid `config` rejects with a `ReliabilityConfigError`.
   *
   * `config` is a retry config, or a name: one of `forRoot({ retries })` (`'anthropic'`), or a
   * preset's (`'HTTP'`); an unknown name rejects with a `ReliabilityConfigError` naming it.
   *
   * A config object is merged with the defaults on each call (about 20 ns); a name, or a frozen
   * config such as a preset or `Object.freeze({ ...RetryService.PresetConfigs.HTTP, name: 'anthropic' })`
   * kept in a constant, only once.
   *
   * `overrides` are per-call fields over the named (or given) config, merged on each call: most
   * often the caller's `signal`, as in `executeWithRetry(fn, 'anthropic', { signal })`.
   */
  executeWithRetry<T>(
    fn: RetryableFunction<T>,
    config?: RetryConfig | string,
    overrides?: RetryConfig,
  ): Promise<T> {
    let policy: RetryPolicy | undefined;
    if (config === undefined) {
      policy = this.defaults;
    } else if (typeof config === 'string') {
      policy = this.named.get(config)?.policy;
      if (policy === undefined && isRetryPresetName(config)) {
        policy = this.frozenPolicies.get(RETRY_PRESETS[config]);
      }
      if (policy === undefined) {
        return Promise.reject(
          new ReliabilityConfigError([
            unknownRetryName('executeWithRetry(fn, name)', config, this.named.keys()),
          ]),
        );
      }
    } else {
      policy = this.frozenPolicies.get(config);
      if (policy === undefined) {
        try {
          policy = this.policyOf(config);
        } catch (error) {
          return Promise.reject(error);
        }
        if (Object.isFrozen(config)) this.frozenPolicies.set(config, policy);
      }
    }
    if (overrides !== undefined) {
      try {
        policy = this.policyOf(overrides, policy);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const record = this.registry.get(policy.name);
    const budget =
      policy.budget === undefined ? undefined : this.registry.budgetOf(policy.name, record, policy.budget);
    return runRetry(fn, policy, this.clock, record.stats, budget);
  }

  /**
   * The config of a name: one of `forRoot({ retries })`, or a preset's; `undefined` for any other.
   * `@UseResilience({ retry: 'anthropic' })` resolves its name through this at bootstrap.
   */
  retryConfigOf(name: string): RetryConfig | undefined {
    const named = this.named.get(name);
    if (named !== undefined) return named.config;
    return isRetryPresetName(name) ? RETRY_PRESETS[name] : undefined;
  }

  /** The names of `forRoot({ retries })`. */
  retryNames(): string[] {
    return [...this.named.keys()];
  }

  /** Counters of one operation name (a copy), or `undefined` if the name has not been used. */
  getRetryMetrics(name: string): RetryMetrics | undefined {
    const record = this.registry.find(name);
    return record === undefined ? undefined : copyRetryStats(record.stats);
  }

  /** Counters of every operation name still kept, keyed by name (copies). */
  getAllRetryMetrics(): Record<string, RetryMetrics> {
    const out: Record<string, RetryMetrics> = {};
    for (const [name, record] of this.registry.entries()) out[name] = copyRetryStats(record.stats);
    return out;
  }

  /** Normalises a per-call config over the module defaults. */
  protected policyOf(config: RetryConfig, base: RetryPolicy = this.defaults): RetryPolicy {
    if (isRetryPolicy(config)) return config;
    if (config.budget === true && base.budget === undefined) {
      return createRetryPolicy({ ...config, budget: this.budgetLimits }, base);
    }
    return createRetryPolicy(config, base);
  }
}

function sameLimits(a: RetryBudgetLimits, b: RetryBudgetLimits): boolean {
  return a.ratio === b.ratio && a.minPerSecond === b.minPerSecond && a.windowMs === b.windowMs;
}

function describeLimits(l: RetryBudgetLimits): string {
  return `{ ratio: ${l.ratio}, minPerSecond: ${l.minPerSecond}, windowMs: ${l.windowMs} }`;
}
