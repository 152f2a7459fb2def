import { Client } from 'pg';
import { systemClock } from '../../src/core/common/clock';
import {
  describeDatabaseError,
  isTransientDatabaseError,
} from '../../src/core/classification/database-errors';
import { isCircuitOpenError } from '../../src/core/common/errors';
import { createDatabaseApp, DatabaseApp } from '../support/database-app';
import { startMigratedServer } from '../support/postgres-databases';
import { PostgresServer, StopMode } from '../support/postgres-server';

const WRITERS = 4;
const PAUSE_MS = 10;
const STEADY_MS = 1_000;
const OUTAGE_MS = 1_500;
const AFTER_MS = 2_000;

interface Write {
  key: string;
  startedAt: number;
  endedAt?: number;
  /** committed: inserted now; deduplicated: an earlier attempt had committed (the key was there); failed. */
  outcome?: 'committed' | 'deduplicated' | 'failed';
  error?: unknown;
}

interface Cycle {
  mode: StopMode;
  stoppedAt: number;
  backAt: number;
}

// Test 1: a steady stream of idempotent writes through executeWithReliability while PostgreSQL
// restarts twice: a clean restart (fast shutdown: sessions get 57P01), then a crash (immediate
// shutdown: sockets just close, crash recovery at start). Every write that resolved must be in the
// table exactly once; writes caught by the outage succeed after recovery or fail with a clear error.
describe('DatabaseService under a PostgreSQL restart', () => {
  let server: PostgresServer;
  let url: string;
  let app: DatabaseApp;

  beforeAll(async () => {
    ({ server, url } = await startMigratedServer());
    app = await createDatabaseApp(url, {
      pool: { max: 5, connectionTimeoutMillis: 1_000, query_timeout: 5_000 },
      reliability: {
        circuits: { database: { volumeThreshold: 20, failureThreshold: 0.5, resetTimeout: 1_000 } },
        // Up to 7.5 s of backoff (100 ms → 1 s, x2, full jitter: 3.7 s on average), to bridge the outage.
        database: {
          retry: { maxAttempts: 10, baseDelay: 100, maxDelay: 1_000, backoffMultiplier: 2, budget: false },
        },
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    await server?.close();
  });

  it('loses and duplicates no resolved write, and recovers within 5 s of the server coming back', async () => {
    const { db } = app;
    const writes: Write[] = [];
    let running = true;
    let sequence = 0;

    const writer = async (id: number): Promise<void> => {
      while (running) {
        const write: Write = { key: `restart-${id}-${sequence++}`, startedAt: systemClock.now() };
        writes.push(write);
        try {
          const { count } = await db.executeWithReliability((p) =>
            p.task.createMany({
              data: [{ idempotencyKey: write.key, description: `write ${write.key}` }],
              skipDuplicates: true,
            }),
          );
          write.outcome = count === 1 ? 'committed' : 'deduplicated';
        } catch (error) {
          write.outcome = 'failed';
          write.error = error;
        }
        write.endedAt = systemClock.now();
        await systemClock.sleep(PAUSE_MS);
      }
    };

    const writers = Array.from({ length: WRITERS }, (_, id) => writer(id));
    const cycles: Cycle[] = [];
    for (const mode of ['fast', 'immediate'] as const) {
      await systemClock.sleep(STEADY_MS);
      const stoppedAt = systemClock.now();
      await server.stop(mode);
      await systemClock.sleep(OUTAGE_MS);
      await server.start();
      cycles.push({ mode, stoppedAt, backAt: systemClock.now() });
    }
    await systemClock.sleep(AFTER_MS);
    running = false;
    await Promise.all(writers);

    // What the table holds, read around the app.
    const check = new Client({ connectionString: url });
    await check.connect();
    const { rows } = await check
      .query<{ key: string; n: string }>(
        `SELECT "idempotencyKey" AS key, count(*) AS n FROM "Task" WHERE "idempotencyKey" LIKE 'restart-%' GROUP BY 1`,
      )
      .finally(() => check.end());
    const stored = new Map(rows.map((r) => [r.key, Number(r.n)]));

    const resolved = writes.filter((w) => w.outcome !== 'failed');
    const failed = writes.filter((w) => w.outcome === 'failed');
    const lost = resolved.filter((w) => !stored.has(w.key));
    const duplicated = [...stored.values()].filter((n) => n > 1).length;
    const unknown = [...stored.keys()].filter((key) => !writes.some((w) => w.key === key));
    const failedButStored = failed.filter((w) => stored.has(w.key));

    const figures = cycles.map((cycle, i) => {
      const until = cycles[i + 1]?.stoppedAt ?? Infinity;
      const caught = writes.filter(
        (w) => w.startedAt < cycle.backAt && (w.endedAt ?? Infinity) > cycle.stoppedAt,
      );
      const firstSuccess = writes
        .filter((w) => w.outcome !== 'failed' && w.endedAt! >= cycle.backAt && w.endedAt! < until)
        .reduce((min, w) => Math.min(min, w.endedAt!), Infinity);
      return {
        restart: cycle.mode,
        outageMs: cycle.backAt - cycle.stoppedAt,
        writesCaughtByOutage: caught.length,
        caughtThenCommitted: caught.filter((w) => w.outcome !== 'failed').length,
        caughtThenFailed: caught.filter((w) => w.outcome === 'failed').length,
        recoveryMs: firstSuccess - cycle.backAt,
      };
    });
    const summary = {
      attempted: writes.length,
      committed: resolved.length,
      deduplicatedRetries: resolved.filter((w) => w.outcome === 'deduplicated').length,
      failed: failed.length,
      failedButStored: failedButStored.length,
      lost: lost.length,
      duplicated,
      retries: db.getDatabaseMetrics().retries,
      errors: [...new Set(failed.map((w) => describeDatabaseError(w.error)))],
    };
    console.log(
      `restart figures (${WRITERS} writers):\n${JSON.stringify(summary)}\n` +
        figures.map((f) => JSON.stringify(f)).join('\n'),
    );

    expect(writes.length).toBeGreaterThan(100);
    expect(lost).toEqual([]);
    expect(duplicated).toBe(0);
    expect(unknown).toEqual([]);
    for (const write of failed) {
      // A clear error: the database's own transient error after the retries, or the open circuit.
      expect(isTransientDatabaseError(write.error) || isCircuitOpenError(write.error)).toBe(true);
      expect(String((write.error as Error).message).length).toBeGreaterThan(0);
    }
    for (const f of figures) {
      expect(f.writesCaughtByOutage).toBeGreaterThan(0);
      expect(f.caughtThenCommitted).toBeGreaterThan(0); // the retries bridged the outage
      expect(f.recoveryMs).toBeLessThan(5_000);
    }
  }, 30_000);
});
