import { systemClock } from '../../src/core/common/clock';
import { isDatabaseConnectError } from '../../src/core/classification/database-errors';
import { createDatabaseApp } from '../support/database-app';
import { startMigratedServer } from '../support/postgres-databases';
import { PostgresServer } from '../support/postgres-server';

// Test 6: the app boots before its database (a common order in compose files and Kubernetes).
describe('DatabaseService boot connect', () => {
  let server: PostgresServer;
  let url: string;

  beforeAll(async () => {
    ({ server, url } = await startMigratedServer());
    await server.stop();
  });

  afterAll(async () => {
    await server?.close();
  });

  it('keeps retrying $connect while the database is down and boots once it is up', async () => {
    const started = systemClock.now();
    const lateStart = systemClock.sleep(2_000).then(() => server.start());
    const app = await createDatabaseApp(url, {
      pool: { connectionTimeoutMillis: 1_000 },
      reliability: { database: { connectTimeout: 15_000, healthTimeout: 1_000 } },
    });
    try {
      const bootMs = systemClock.now() - started;
      await lateStart;
      expect(bootMs).toBeGreaterThanOrEqual(2_000);
      expect(bootMs).toBeLessThan(2_000 + 3_000); // at most one backoff step (2 s) plus the attempt
      const { connection } = app.db.getDatabaseMetrics();
      expect(connection.connected).toBe(true);
      expect(connection.attempts).toBeGreaterThan(3);
      expect(connection.connectMs).toBeGreaterThanOrEqual(2_000);
      await expect(app.db.executeWithReliability((p) => p.task.count())).resolves.toBe(0);
      console.log(`late start: booted ${bootMs} ms after start, ${connection.attempts} connect attempts`);
    } finally {
      await app.close();
    }
  });

  it('fails boot with a clear error when the database stays down past DATABASE_CONNECT_TIMEOUT', async () => {
    await server.stop();
    const started = systemClock.now();
    const error = await createDatabaseApp(url, {
      reliability: { database: { connectTimeout: 1_200, healthTimeout: 500 } },
    }).catch((e: unknown) => e);
    const elapsed = systemClock.now() - started;
    expect(isDatabaseConnectError(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /^Could not connect to the database: \d+ attempts in \d+ ms \(DATABASE_CONNECT_TIMEOUT=1200\)\. Last error: .*DatabaseNotReachable.*Can't reach database server at 127\.0\.0\.1:\d+/,
    );
    expect(elapsed).toBeGreaterThanOrEqual(1_200);
    expect(elapsed).toBeLessThan(1_200 + 1_500);
  });
});
