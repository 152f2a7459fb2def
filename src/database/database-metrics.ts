import type { CircuitState } from '../core/common/errors.js';
import { LatencyHistogram, LatencySummary } from '../core/common/latency-histogram.js';
import type { DatabaseErrorClass } from '../core/classification/database-errors.js';

/**
 * A snapshot of the database wrapper. Every figure is counted by the wrapper itself or read from
 * the pool; nothing is estimated.
 * @publicApi
 */
export interface DatabaseMetrics {
  /** Operations started through the service (`executeWith*`, `transaction`), since boot. Direct client calls are not seen. */
  queries: number;
  /** Operations that resolved. */
  successes: number;
  failures: {
    /** Failed with a transient error (connection lost, timeout, conflict...) after the retries allowed. */
    transient: number;
    /** Failed with an error no retry can fix (P2002, P2025, validation...). */
    permanent: number;
    /** Rejected by the open circuit without touching the database. */
    rejected: number;
  };
  /** Extra attempts made by the retries (a whole transaction re-run counts as one). */
  retries: number;
  /** Operations running now, retries and backoffs included. */
  inFlight: number;
  transactions: {
    /** `transaction()` calls. */
    started: number;
    /** Transactions that committed. */
    committed: number;
    /** Re-runs after a conflict or a lost connection. */
    retried: number;
    /** Attempts that failed with P2034 / 40001 / 40P01. */
    conflicts: number;
  };
  /** Latency of the operations that ran (rejections excluded), retries included, in ms. */
  latency: LatencySummary;
  circuit: { name: string; state: CircuitState };
  /** `pg.Pool` figures, or `null` when no pool is known (pass `database.pool` to get them). */
  pool: { totalCount: number; idleCount: number; waitingCount: number; max?: number } | null;
  connection: {
    /** The boot connect succeeded and `$disconnect` has not run since. */
    connected: boolean;
    /** Attempts made by the boot connect. */
    attempts: number;
    /** Time the boot connect took, in ms (`null` before it succeeded). */
    connectMs: number | null;
    /** The last boot connect error, one line. */
    lastError: string | null;
  };
  health: {
    checks: number;
    failures: number;
    /** Latency of the last check, in ms (`null` before the first). */
    lastLatencyMs: number | null;
  };
}

/** The counters behind {@link DatabaseMetrics}, updated by the service. */
export class DatabaseMetricsRecorder {
  queries = 0;
  successes = 0;
  readonly failures = { transient: 0, permanent: 0, rejected: 0 };
  retries = 0;
  readonly transactions = { started: 0, committed: 0, retried: 0, conflicts: 0 };
  readonly connection = {
    connected: false,
    attempts: 0,
    connectMs: null as number | null,
    lastError: null as string | null,
  };
  readonly health = { checks: 0, failures: 0, lastLatencyMs: null as number | null };
  private readonly latency = new LatencyHistogram();

  succeeded(ms: number): void {
    this.successes++;
    this.latency.record(ms);
  }

  failed(kind: DatabaseErrorClass | 'rejected', ms: number): void {
    this.failures[kind]++;
    if (kind !== 'rejected') this.latency.record(ms);
  }

  latencySummary(): LatencySummary {
    return this.latency.summary();
  }
}
