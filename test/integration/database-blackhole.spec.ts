import { systemClock } from '../../src/core/common/clock';
import { isTimeoutError } from '../../src/core/common/errors';
import { createDatabaseApp, DatabaseApp } from '../support/database-app';
import { FaultProxy } from '../support/fault-proxy';
import { createTestDatabase, TestDatabase, withPort } from '../support/postgres-databases';

const QUERY_TIMEOUT = 500;
const POOL_TIMEOUT = QUERY_TIMEOUT + 150;

async function waitFor(what: string, check: () => boolean, withinMs: number): Promise<number> {
  const start = systemClock.now();
  while (!check()) {
    if (systemClock.now() - start > withinMs)
      throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await systemClock.sleep(20);
  }
  return systemClock.now() - start;
}

// Test 5: the network path to PostgreSQL goes dead (the proxy swallows every byte, nobody
// answers, no RST). A query then hangs forever unless something cuts it.
describe('DatabaseService behind a blackholed network path', () => {
  let database: TestDatabase;
  let proxy: FaultProxy;
  let app: DatabaseApp;

  beforeAll(async () => {
    database = await createTestDatabase('blackhole');
    const port = Number(new URL(database.url).port);
    proxy = await FaultProxy.start(port);
    app = await createDatabaseApp(withPort(database.url, proxy.port), {
      // The pool's own limits reclaim the connection of a hung query: query_timeout for a query
      // in progress, connectionTimeoutMillis for a connection being opened. They are set a little
      // above the service's own limit: at exactly the same value pg's timer sometimes fired first
      // under load, and the test saw pg's "Query read timeout" instead of our TimeoutError.
      pool: { max: 3, query_timeout: POOL_TIMEOUT, connectionTimeoutMillis: POOL_TIMEOUT },
      reliability: {
        circuits: { database: { volumeThreshold: 100 } },
        database: { queryTimeout: QUERY_TIMEOUT, healthTimeout: 300, retry: { maxAttempts: 1 } },
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('cuts the hanging query at the timeout and does not leak its connection', async () => {
    const { db, pool } = app;
    await db.executeWithReliability((p) => p.task.count());
    const before = { total: pool.totalCount, idle: pool.idleCount };
    expect(before.total).toBeGreaterThan(0);

    proxy.blackhole();
    const started = systemClock.now();
    const error = await db.executeWithReliability((p) => p.task.count()).catch((e: unknown) => e);
    const elapsed = systemClock.now() - started;

    // The error is in the object so that a failure shows what came instead of the TimeoutError.
    expect({ isTimeout: isTimeoutError(error), error: String(error) }).toMatchObject({ isTimeout: true });
    expect(elapsed).toBeGreaterThanOrEqual(QUERY_TIMEOUT - 5);
    expect(elapsed).toBeLessThan(QUERY_TIMEOUT + 400);
    // The query is still running in pg until query_timeout fires; then pg-pool destroys that
    // connection instead of returning it: nothing stays checked out, nobody waits.
    const reclaimMs = await waitFor(
      'the hung connection to leave the pool',
      () => db.getDatabaseMetrics().inFlight === 0 && pool.totalCount === pool.idleCount,
      2_000,
    );
    const during = db.getDatabaseMetrics().pool!;
    expect(during.waitingCount).toBe(0);
    expect(during.totalCount).toBe(during.idleCount); // no connection checked out
    expect(db.getDatabaseMetrics().failures.transient).toBe(1);

    // The readiness probe says so within its own limit.
    const health = await db.healthCheck();
    expect(health.ok).toBe(false);
    expect(health.error).toMatch(/timed out/);
    expect(health.latencyMs).toBeLessThan(300 + 200);

    proxy.heal();
    await waitFor('the idle connections to be replaced', () => pool.totalCount <= 3, 2_000);
    await expect(db.executeWithReliability((p) => p.task.count())).resolves.toBe(0);
    await waitFor('all queries to settle', () => db.getDatabaseMetrics().inFlight === 0, 2_000);
    const after = db.getDatabaseMetrics().pool!;
    expect(after.totalCount).toBeLessThanOrEqual(3);
    expect(after.waitingCount).toBe(0);
    expect(after.idleCount).toBe(after.totalCount);
    // And no socket is left behind at the TCP level: the proxy holds exactly the pool's connections.
    await waitFor(
      'the proxy to hold only the pool connections',
      () => proxy.stats().open === pool.totalCount,
      2_000,
    );
    console.log(
      `blackhole: rejected after ${elapsed} ms (timeout ${QUERY_TIMEOUT} ms); hung connection reclaimed ` +
        `${reclaimMs} ms later; pool before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`,
    );
  });
});
