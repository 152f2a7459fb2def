import { CoarseClock, type Clock } from '../common/clock.js';
import { budgetClockResolutionMs, RetryBudget, RetryBudgetLimits } from './budget.js';
import { createRetryStats, RetryStats } from './retry.js';

/** The state of one operation name: its counters and, once needed, its budget. */
export interface RetryRecord {
  readonly stats: RetryStats;
  budget: RetryBudget | undefined;
  /** Whether a budget definition conflicting with the first one was reported. */
  conflictReported: boolean;
  /** The "second chance" bit of the eviction clock: set on use, cleared when the eviction passes. */
  used: boolean;
}

/**
 * Per-name retry state with a fixed capacity. Eviction is the CLOCK approximation of LRU: a hit
 * only sets a bit (no reordering on the hot path); a full registry drops the oldest name that was
 * not used since the eviction last passed it.
 */
export class RetryRegistry {
  private readonly records = new Map<string, RetryRecord>();
  /** The budget limits of `forRoot({ retries })` names: they win over any call's. */
  private readonly declared = new Map<string, RetryBudgetLimits>();
  /**
   * The clocks that budgets file calls at, one per resolution (most budgets share the default
   * window): a call costs no clock read while calls keep coming. Stopped by {@link RetryRegistry.stop}.
   */
  private readonly callClocks = new Map<number, CoarseClock>();

  constructor(
    private readonly clock: Clock,
    private readonly capacity: number,
    /**
     * Told once per name when a call defines its budget differently from the name's budget
     * (`declared`: the limits kept are those of `forRoot({ retries })`, else of the first call).
     */
    private readonly onConflict: (
      name: string,
      kept: RetryBudgetLimits,
      ignored: RetryBudgetLimits,
      declared: boolean,
    ) => void = () => undefined,
  ) {}

  /**
   * Gives `name` its budget now, with `limits`, whatever the order of later calls. Its record is
   * created at once; one evicted later gets a budget with these limits again.
   */
  declare(name: string, limits: RetryBudgetLimits): void {
    this.declared.set(name, limits);
    const record = this.get(name);
    record.budget = this.createBudget(limits);
  }

  /** The record of `name`, created when missing. */
  get(name: string): RetryRecord {
    const record = this.records.get(name);
    if (record !== undefined) {
      record.used = true;
      return record;
    }
    if (this.records.size >= this.capacity) this.evictOne();
    const created: RetryRecord = {
      stats: createRetryStats(),
      budget: undefined,
      conflictReported: false,
      used: false,
    };
    this.records.set(name, created);
    return created;
  }

  /**
   * The one budget of a name, created with its declared limits, else those of its first use. Later
   * calls share it, and its limits: a call that asks for others is reported once and still counts
   * against this budget (two windows for one name would otherwise reset each other and allow
   * unlimited retries).
   */
  budgetOf(name: string, record: RetryRecord, limits: RetryBudgetLimits): RetryBudget {
    let budget = record.budget;
    if (budget === undefined) {
      budget = record.budget = this.createBudget(this.declared.get(name) ?? limits);
    }
    const kept = budget.limits!;
    if (kept !== limits && !record.conflictReported && !sameLimits(kept, limits)) {
      record.conflictReported = true;
      this.onConflict(name, kept, limits, this.declared.has(name));
    }
    return budget;
  }

  /** Clears the timers of the budgets' clocks (at shutdown); budgets then read the clock per call. */
  stop(): void {
    for (const callClock of this.callClocks.values()) callClock.stop();
  }

  private createBudget(limits: RetryBudgetLimits): RetryBudget {
    const resolution = budgetClockResolutionMs(limits.windowMs);
    let callClock = this.callClocks.get(resolution);
    if (callClock === undefined) {
      callClock = new CoarseClock(this.clock, resolution);
      this.callClocks.set(resolution, callClock);
    }
    return new RetryBudget(this.clock, limits, callClock);
  }

  find(name: string): RetryRecord | undefined {
    return this.records.get(name);
  }

  entries(): IterableIterator<[string, RetryRecord]> {
    return this.records.entries();
  }

  private evictOne(): void {
    // Re-inserted entries are visited again, so this ends within two passes.
    for (const [name, record] of this.records) {
      this.records.delete(name);
      if (!record.used) return;
      record.used = false;
      this.records.set(name, record);
    }
  }
}

function sameLimits(a: RetryBudgetLimits, b: RetryBudgetLimits): boolean {
  return a.ratio === b.ratio && a.minPerSecond === b.minPerSecond && a.windowMs === b.windowMs;
}
