import { systemClock } from '../../src/core/common/clock';
import { isTransientDatabaseError } from '../../src/core/classification/database-errors';
import { createDatabaseApp, DatabaseApp } from '../support/database-app';
import { FaultProxy } from '../support/fault-proxy';
import { createTestDatabase, TestDatabase, withPort } from '../support/postgres-databases';

// The proxy's other faults: latency, connections reset mid-query, connections refused.
describe('DatabaseService through the fault proxy', () => {
  let database: TestDatabase;
  let proxy: FaultProxy;
  let app: DatabaseApp;

  beforeAll(async () => {
    database = await createTestDatabase('faults');
    proxy = await FaultProxy.start(Number(new URL(database.url).port));
    app = await createDatabaseApp(withPort(database.url, proxy.port), {
      pool: { max: 2, connectionTimeoutMillis: 1_000 },
      reliability: {
        circuits: { database: { volumeThreshold: 100 } },
        database: { retry: { maxAttempts: 4, baseDelay: 20, maxDelay: 50, budget: false } },
      },
    });
  });

  afterEach(() => proxy.heal());

  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('adds latency to every round trip', async () => {
    const { db } = app;
    await db.executeWithReliability((p) => p.task.count()); // warm connection
    proxy.setLatency(100);
    const started = systemClock.now();
    await db.executeWithReliability((p) => p.task.count());
    // One round trip at least: 100 ms each way.
    expect(systemClock.now() - started).toBeGreaterThanOrEqual(195);
  });

  it('retries a read whose connection is reset mid-query, and it succeeds', async () => {
    const { db } = app;
    const retriesBefore = db.getDatabaseMetrics().retries;
    let attempts = 0;
    const reading = db.executeWithReliability(async (p, { attempt }) => {
      attempts = attempt;
      const rows = await p.$queryRawUnsafe<{ ok: number }[]>('SELECT 1 AS ok FROM pg_sleep(0.3)');
      return rows[0].ok;
    });
    await systemClock.sleep(100);
    expect(proxy.dropConnections()).toBeGreaterThan(0);
    await expect(reading).resolves.toBe(1);
    expect(attempts).toBe(2);
    expect(db.getDatabaseMetrics().retries).toBe(retriesBefore + 1);
  });

  it('reports refused connections as transient, and recovers when they are accepted again', async () => {
    const { db, pool } = app;
    proxy.dropConnections();
    proxy.refuse();
    const error = await db
      .executeWithRetry((p) => p.task.count(), { maxAttempts: 2, baseDelay: 1, maxDelay: 1 })
      .catch((e: unknown) => e);
    expect(isTransientDatabaseError(error)).toBe(true);
    expect(pool.totalCount).toBe(0);
    proxy.refuse(false);
    await expect(db.executeWithRetry((p) => p.task.count())).resolves.toBe(0);
  });
});
