import { performance } from 'node:perf_hooks';
import { systemClock } from '../../src/core/common/clock';
import { isTransientDatabaseError } from '../../src/core/classification/database-errors';
import { isCircuitOpenError } from '../../src/core/common/errors';
import { createDatabaseApp, DatabaseApp } from '../support/database-app';
import { FaultProxy } from '../support/fault-proxy';
import { startMigratedServer, withPort } from '../support/postgres-databases';
import { PostgresServer } from '../support/postgres-server';

const RESET_TIMEOUT = 800;

// Test 2: PostgreSQL goes down. The breaker must open after its threshold and then answer at
// once, without opening connections (the proxy in front counts every attempt); when the server is
// back, the probe after the reset timeout closes it.
describe('DatabaseService breaker during a database outage', () => {
  let server: PostgresServer;
  let proxy: FaultProxy;
  let app: DatabaseApp;

  beforeAll(async () => {
    const started = await startMigratedServer();
    server = started.server;
    proxy = await FaultProxy.start(server.port);
    app = await createDatabaseApp(withPort(started.url, proxy.port), {
      pool: { connectionTimeoutMillis: 1_000 },
      reliability: {
        circuits: {
          database: {
            volumeThreshold: 4,
            failureThreshold: 0.5,
            resetTimeout: RESET_TIMEOUT,
            rollingWindow: 10_000,
          },
        },
        database: { retry: { maxAttempts: 1 } },
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await server?.close();
  });

  it('opens, rejects fast without touching the pool, and closes after a successful probe', async () => {
    const { db, pool } = app;
    let invoked = 0;
    const count = () =>
      db.executeWithReliability((p) => {
        invoked++;
        return p.task.count();
      });
    await count();
    await count();

    await server.stop();
    let failuresToOpen = 0;
    while (db.getDatabaseMetrics().circuit.state !== 'OPEN') {
      const error = await count().catch((e: unknown) => e);
      expect(isTransientDatabaseError(error)).toBe(true);
      failuresToOpen++;
      if (failuresToOpen > 10) throw new Error('the breaker did not open after 10 failures');
    }
    // 2 successes then 2 failures: 4 calls (the volume threshold) at a 50 % failure rate.
    expect(failuresToOpen).toBe(2);

    const connectionsBefore = proxy.stats().accepted;
    const invokedBefore = invoked;
    const timings: number[] = [];
    for (let i = 0; i < 220; i++) {
      const t0 = performance.now();
      const error = await count().catch((e: unknown) => e);
      if (i >= 20) timings.push(performance.now() - t0); // the first 20 warm the code path up
      expect(isCircuitOpenError(error)).toBe(true);
    }
    timings.sort((a, b) => a - b);
    const p99 = timings[Math.ceil(timings.length * 0.99) - 1];
    // p99 rather than the max: one GC pause on a loaded CI machine is not the breaker's doing.
    expect(p99).toBeLessThan(5);
    expect(timings[100]).toBeLessThan(0.5);
    expect(invoked).toBe(invokedBefore); // the function never ran
    expect(proxy.stats().accepted).toBe(connectionsBefore); // no connection was even attempted
    expect(pool.waitingCount).toBe(0);
    expect(db.getDatabaseMetrics().failures.rejected).toBe(220);

    await server.start();
    const openedAt = db.getDatabaseMetrics();
    expect(openedAt.circuit.state).toBe('OPEN');
    await systemClock.sleep(RESET_TIMEOUT + 50);
    await expect(count()).resolves.toBe(0); // the probe
    expect(db.getDatabaseMetrics().circuit.state).toBe('CLOSED');
    await expect(count()).resolves.toBe(0);
    console.log(
      `outage: opened after ${failuresToOpen} failures; open-circuit rejections p50 ` +
        `${timings[100].toFixed(3)} ms, p99 ${p99.toFixed(3)} ms, max ${timings[timings.length - 1].toFixed(3)} ms; ` +
        'closed by the first probe',
    );
  });
});
