import { Inject, Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import type { CircuitBreaker, CircuitFallback, CircuitFn } from '../core/circuit-breaker/circuit-breaker.js';
import type { CircuitCallOutcome, CircuitStateChange, Listener } from '../core/circuit-breaker/events.js';
import type { CircuitMetrics } from '../core/circuit-breaker/metrics.js';
import { CircuitBreakerRegistry } from '../core/circuit-breaker/registry.js';
import type { CircuitBreakerSettings } from '../core/circuit-breaker/settings.js';
import { Clock, systemClock } from '../core/common/clock.js';
import { CircuitState, ConfigIssue, ReliabilityConfigError } from '../core/common/errors.js';
import { deadlineTimerFor } from '../core/common/deadline.js';
import type { ReliabilityConfig } from '../config/reliability-config.js';
import { RELIABILITY_CLOCK, RELIABILITY_CONFIG, RELIABILITY_MODULE_OPTIONS } from '../reliability.tokens.js';
import type { ReliabilityModuleOptions } from '../reliability-options.interface.js';
import type { CircuitExecuteOptions, CircuitOptions } from './circuit-breaker.options.js';
import {
  circuitSettingsDiff,
  optionsMatchLive,
  resolveCircuitOptions,
  resolveConfiguredCircuits,
  settingsFromDefaults,
} from './circuit-options.resolver.js';

/**
 * Named circuit breakers. A circuit is created on first use, with (later wins) the module
 * defaults (`CIRCUIT_BREAKER_*`), the options given to that first `execute()`, and
 * `forRoot({ circuits: { [name]: ... } })`. A later `execute()` whose options differ from the live
 * circuit's logs one warning per circuit. Unused circuits are dropped after
 * `CIRCUIT_BREAKER_IDLE_EVICTION` (never one held by `open()` or `disable()`, or one with a call in
 * flight). The service owns no interval.
 * @publicApi
 */
@Injectable()
export class CircuitBreakerService implements OnApplicationShutdown {
  private readonly logger = new Logger('CircuitBreaker');
  private readonly registry: CircuitBreakerRegistry;
  private readonly defaults: CircuitBreakerSettings;
  private readonly configured: Map<string, CircuitBreakerSettings>;
  private readonly circuitsOption: Record<string, unknown> | undefined;
  private readonly byOptions = new WeakMap<object, CircuitBreakerSettings>();
  private readonly clock: Clock;
  /**
   * The last options object each circuit's later call passed, already checked (matched or warned
   * about): the next call with the same object costs one lookup. Keyed by circuit, so that a call
   * site passing a fresh literal each time adds no entry per call.
   */
  private readonly checkedOptions = new WeakMap<CircuitBreaker, object>();
  /** Circuits already warned about conflicting options: one warning each. */
  private readonly warned = new WeakSet<CircuitBreaker>();
  /** Circuits made by a manual command that have not run a call yet: their first call's options still apply. */
  private readonly provisional = new WeakSet<CircuitBreaker>();
  private provisionalCount = 0;

  constructor(
    @Inject(RELIABILITY_CONFIG) config: ReliabilityConfig,
    @Optional() @Inject(RELIABILITY_MODULE_OPTIONS) options?: ReliabilityModuleOptions,
    @Optional() @Inject(RELIABILITY_CLOCK) clock?: Clock,
  ) {
    this.clock = clock ?? systemClock;
    this.defaults = settingsFromDefaults(config.circuitBreaker);
    // forRoot circuits are checked now, so that a bad one stops boot.
    this.configured = resolveConfiguredCircuits(options?.circuits, this.defaults);
    this.circuitsOption = options?.circuits;
    this.registry = new CircuitBreakerRegistry({
      clock: this.clock,
      idleEvictionMs: config.circuitBreaker.idleEvictionMs,
      onListenerError: (error) =>
        this.logger.error(`A circuit event listener threw: ${describe(error)}`, (error as Error)?.stack),
    });
    this.registry.events.onStateChange((change) => this.logTransition(change));
  }

  /**
   * Runs `fn` through the circuit `name`. `fn` receives an `AbortSignal` that aborts when the call
   * times out (pass it on: `(signal) => fetch(url, { signal })`). Whether it gets one follows
   * `options.signal` when set, else `fn`'s declared parameter count: `() => …` gets none and pays
   * for none; `(...args) => …`, a defaulted parameter and `jest.fn()` declare none either, so pass
   * `{ signal: true }` for them.
   *
   * Rejects at once with `CircuitOpenError` while the circuit is open, and with `TimeoutError`
   * after `timeout`. `fallback(error)` serves in those two cases and when `fn` fails with a counted
   * failure; if it throws, that error propagates. An error that does not count (a 404, the
   * caller's abort...) passes through unchanged, without the fallback.
   *
   * The circuit options in `options` apply when this call creates the circuit (or is its first
   * call after a manual command created it). A later call whose options differ from the live
   * circuit's is run with the live ones, and the first such call logs a warning.
   */
  execute<T>(
    name: string,
    fn: CircuitFn<T>,
    fallback?: CircuitFallback<T>,
    options?: CircuitExecuteOptions,
  ): Promise<T> {
    let breaker = this.registry.get(name);
    try {
      // Read on every call, so checked on every call (not only when the options are resolved).
      const signal = options?.signal;
      if (signal !== undefined && typeof signal !== 'boolean') throw invalidSignal(name, signal);
      if (breaker === undefined) breaker = this.create(name, options);
      else if (this.provisionalCount > 0 && this.provisional.has(breaker)) {
        breaker = this.firstCall(name, breaker, options);
      } else if (options !== undefined && this.checkedOptions.get(breaker) !== options) {
        this.checkLaterOptions(name, breaker, options);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return breaker.execute(fn, fallback, options);
  }

  /** A snapshot of one circuit, or `undefined` if it does not exist (yet, or any more). */
  getCircuitMetrics(name: string): CircuitMetrics | undefined {
    return this.registry.get(name)?.metrics();
  }

  /** Snapshots of every circuit, keyed by name. */
  getAllCircuitMetrics(): Record<string, CircuitMetrics> {
    const now = this.clock.now();
    const all: Record<string, CircuitMetrics> = {};
    for (const breaker of this.registry.all()) all[breaker.name] = breaker.metrics(now);
    return all;
  }

  /** `CLOSED`, `OPEN` or `HALF_OPEN`; `undefined` for a circuit that does not exist. */
  getState(name: string): CircuitState | undefined {
    return this.registry.get(name)?.getState();
  }

  /** Holds the circuit open (creating it if needed) until `close()`, `reset()` or `disable()`. */
  open(name: string): void {
    this.control(name).open();
  }

  /** Closes the circuit with an empty window. */
  close(name: string): void {
    this.control(name).close();
  }

  /** Back to new: closed, enabled, counters and latency cleared. */
  reset(name: string): void {
    this.control(name).reset();
  }

  /** Lets every call through and never trips, until `enable()`. Timeouts and fallbacks still apply. */
  disable(name: string): void {
    this.control(name).disable();
  }

  /** Ends `disable()`. */
  enable(name: string): void {
    this.control(name).enable();
  }

  /** Calls `listener` on every state transition of any circuit. Returns its disposer. */
  onStateChange(listener: Listener<CircuitStateChange>): () => void {
    return this.registry.events.onStateChange(listener);
  }

  /**
   * Calls `listener` after every call of any circuit. Returns its disposer. While one is
   * registered, every call is timed (one more clock read per call).
   */
  onCallOutcome(listener: Listener<CircuitCallOutcome>): () => void {
    return this.registry.events.onCallOutcome(listener);
  }

  /** Drops listeners and, if no call is in flight, the shared deadline timer. */
  onApplicationShutdown(): void {
    this.registry.clear();
    deadlineTimerFor(this.clock, true).clearIfIdle();
  }

  /**
   * The circuit for a manual command: made with its configured settings if it does not exist, and
   * marked provisional, so that the options of its first `execute()` still apply.
   */
  private control(name: string): CircuitBreaker {
    const existing = this.registry.get(name);
    if (existing) return existing;
    const created = this.create(name, undefined);
    this.provisional.add(created);
    this.provisionalCount++;
    return created;
  }

  /** The first call of a circuit that a manual command created: its options apply now. */
  private firstCall(
    name: string,
    breaker: CircuitBreaker,
    options: CircuitOptions | undefined,
  ): CircuitBreaker {
    const settings = options === undefined ? breaker.settings : this.settingsFor(name, options);
    this.provisional.delete(breaker);
    this.provisionalCount--;
    if (settings === breaker.settings) return breaker;
    return this.registry.recreate(name, settings);
  }

  /**
   * A later call passed options: warn once per circuit if a field they set differs from the live
   * circuit's (after forRoot, which wins over any call's options).
   */
  private checkLaterOptions(name: string, breaker: CircuitBreaker, options: CircuitOptions): void {
    this.checkedOptions.set(breaker, options);
    if (this.warned.has(breaker)) return;
    // A field that forRoot sets for this circuit wins over any call's: it cannot conflict.
    const configured = this.configured.has(name) ? this.circuitsOption?.[name] : undefined;
    // externalTimeout is the caller's own timeout, told to the circuit only to judge a stuck probe:
    // callers sharing a circuit may differ in it without anything being ignored that they asked for.
    const given =
      options.externalTimeout === undefined ? options : { ...options, externalTimeout: undefined };
    if (optionsMatchLive(given, breaker.settings, configured as object | undefined)) return;
    let diffs: string[];
    try {
      diffs = circuitSettingsDiff(this.settingsFor(name, options), breaker.settings, given);
    } catch (error) {
      diffs = [describe(error)];
    }
    if (diffs.length === 0) return;
    this.warned.add(breaker);
    this.logger.warn(
      `Circuit "${name}" already exists, so this execute()'s options are ignored (${diffs.join('; ')}). ` +
        `Give them to its first execute(), or configure it in forRoot({ circuits: { ${JSON.stringify(name)}: { ... } } }). ` +
        'Warned once per circuit.',
    );
  }

  private create(name: string, options: CircuitOptions | undefined): CircuitBreaker {
    if (typeof name !== 'string' || name.length === 0) {
      throw new ReliabilityConfigError([
        { field: 'circuit name', value: name, expected: 'must be a non-empty string' },
      ]);
    }
    return this.registry.getOrCreate(name, () => this.settingsFor(name, options));
  }

  private settingsFor(name: string, options: CircuitOptions | undefined): CircuitBreakerSettings {
    const configured = this.configured.get(name);
    if (options === undefined) return configured ?? this.defaults;
    const cached = configured === undefined ? this.byOptions.get(options) : undefined;
    if (cached) return cached;
    const issues: ConfigIssue[] = [];
    const fromCall = resolveCircuitOptions(
      `execute("${name}") options`,
      options,
      this.defaults,
      issues,
      true,
    );
    if (fromCall === undefined) throw new ReliabilityConfigError(issues);
    if (configured === undefined) {
      // Circuits created with one shared options object share one settings object too.
      this.byOptions.set(options, fromCall);
      return fromCall;
    }
    // forRoot wins, field by field: the operator's configuration over the code's first-use options.
    // (Already validated at startup, so this cannot fail.)
    return (
      resolveCircuitOptions(`circuits.${name}`, this.circuitsOption?.[name], fromCall, issues) ?? configured
    );
  }

  private logTransition(change: CircuitStateChange): void {
    const message = `Circuit "${change.name}" ${change.from} → ${change.to} (${change.reason ?? 'unknown'})`;
    if (change.to !== 'OPEN') {
      this.logger.log(message);
      return;
    }
    const breaker = this.registry.get(change.name);
    if (breaker === undefined) {
      this.logger.warn(message);
      return;
    }
    const w = breaker.peekWindow();
    const tripped = change.reason === 'failure-rate' || change.reason === 'slow-call-rate';
    const counts = tripped
      ? `: ${w.failures} failed and ${w.slowCalls} slow of ${w.calls} calls in the window`
      : '';
    const until =
      change.reason === 'manual-open'
        ? '; held open until close()'
        : `; probing again in ${breaker.settings.resetTimeout} ms`;
    this.logger.warn(`${message}${counts}${until}`);
  }
}

function invalidSignal(name: string, value: unknown): ReliabilityConfigError {
  return new ReliabilityConfigError([
    { field: `execute("${name}") options.signal`, value, expected: 'must be true or false' },
  ]);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
