import type { Clock } from '../core/clock.js';
import { RetryBudget } from '../core/retry-budget.js';
import { createRetryStats, RetryStats } from '../core/retry.js';

/** The state of one operation name: its counters and, once needed, its budget. */
export interface RetryRecord {
  readonly stats: RetryStats;
  budget: RetryBudget | undefined;
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

  constructor(
    private readonly clock: Clock,
    private readonly capacity: number,
  ) {}

  /** The record of `name`, created when missing. */
  get(name: string): RetryRecord {
    const record = this.records.get(name);
    if (record !== undefined) {
      record.used = true;
      return record;
    }
    if (this.records.size >= this.capacity) this.evictOne();
    const created: RetryRecord = { stats: createRetryStats(), budget: undefined, used: false };
    this.records.set(name, created);
    return created;
  }

  /** The budget of a record, created with `windowMs` on first use. */
  budgetOf(record: RetryRecord, windowMs: number): RetryBudget {
    return (record.budget ??= new RetryBudget(this.clock, windowMs));
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
