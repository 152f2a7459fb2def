import { CircuitBreaker } from './circuit-breaker.js';
import { CircuitShared } from './shared.js';
import { CircuitEvents } from './events.js';
import type { CircuitBreakerSettings } from './settings.js';
import { CounterSlab } from './slab.js';
import { Clock, systemClock } from '../common/clock.js';

/** Options of a {@link CircuitBreakerRegistry}. @publicApi */
export interface CircuitBreakerRegistryOptions {
  /** @default systemClock */
  clock?: Clock;
  /**
   * Circuits unused for this long are dropped, in any state, unless a call is in flight, the
   * circuit is held by `open()` or `disable()`, or it is open and its `resetTimeout` has not passed.
   * @default 3600000
   */
  idleEvictionMs?: number;
  /** Receives errors thrown by event listeners. */
  onListenerError?: (error: unknown) => void;
}

/** The most often a full eviction sweep runs, in ms. */
const MAX_SWEEP_INTERVAL_MS = 60_000;

/**
 * Named circuits, created on first use. Eviction is lazy and amortised: a sweep over all circuits
 * runs at most once per `min(idleEvictionMs, 60 s)`, and only when a circuit is created or all
 * metrics are read, so the registry owns no interval and costs nothing while idle. Memory is
 * bounded, in every state, by the names used within one idle period (or one `resetTimeout`, if
 * longer), plus the circuits held by `open()` / `disable()` and those with a call in flight (which
 * that call keeps alive anyway); each is O(buckets).
 * @publicApi
 */
export class CircuitBreakerRegistry {
  readonly events: CircuitEvents;
  private readonly shared: CircuitShared;
  private readonly circuits = new Map<string, CircuitBreaker>();
  private readonly clock: Clock;
  private readonly idleEvictionMs: number;
  private readonly sweepEveryMs: number;
  private lastSweepAt: number;

  constructor(options: CircuitBreakerRegistryOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.idleEvictionMs = options.idleEvictionMs ?? 3_600_000;
    this.sweepEveryMs = Math.min(this.idleEvictionMs, MAX_SWEEP_INTERVAL_MS);
    this.events = new CircuitEvents(options.onListenerError);
    this.shared = new CircuitShared({ clock: this.clock, events: this.events, slab: new CounterSlab() });
    this.lastSweepAt = this.clock.now();
  }

  /** The circuit called `name`, if it exists. */
  get(name: string): CircuitBreaker | undefined {
    return this.circuits.get(name);
  }

  /** The circuit called `name`, created with `settings()` when missing. */
  getOrCreate(name: string, settings: () => Partial<CircuitBreakerSettings>): CircuitBreaker {
    const existing = this.circuits.get(name);
    if (existing) return existing;
    const created = new CircuitBreaker(name, settings(), this.shared);
    this.maybeSweep(created.lastUsedAt);
    this.circuits.set(name, created);
    return created;
  }

  /**
   * Replaces circuit `name` with one made with `settings`, keeping its manual state (held open,
   * disabled). Meant for a circuit that a manual command created before its first call: that
   * call's options then still apply.
   */
  recreate(name: string, settings: Partial<CircuitBreakerSettings>): CircuitBreaker {
    const created = new CircuitBreaker(name, settings, this.shared);
    const old = this.circuits.get(name);
    if (old) {
      created.copyManualState(old);
      old.retire();
    }
    this.circuits.set(name, created);
    return created;
  }

  get size(): number {
    return this.circuits.size;
  }

  /** Every live circuit (after a due eviction sweep). */
  all(): CircuitBreaker[] {
    this.maybeSweep(this.clock.now());
    return [...this.circuits.values()];
  }

  /** Drops every idle circuit now; returns how many went. */
  sweep(now = this.clock.now()): number {
    this.lastSweepAt = now;
    let evicted = 0;
    for (const [name, circuit] of this.circuits) {
      if (circuit.isEvictable(now, this.idleEvictionMs)) {
        this.circuits.delete(name);
        circuit.retire();
        evicted++;
      }
    }
    return evicted;
  }

  /** Forgets every circuit and listener. */
  clear(): void {
    this.circuits.clear();
    this.events.clear();
  }

  private maybeSweep(now: number): void {
    if (now - this.lastSweepAt >= this.sweepEveryMs) this.sweep(now);
  }
}
