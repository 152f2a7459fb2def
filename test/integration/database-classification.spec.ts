import { CircuitBreakerService } from '../../src/circuit-breaker/circuit-breaker.service';
import { classifyDatabaseError } from '../../src/core/classification/database-errors';
import { createDatabaseApp, DatabaseApp } from '../support/database-app';
import { createTestDatabase, TestDatabase } from '../support/postgres-databases';

// Test 3: a unique violation is the caller's problem, not an outage. It must fail at once (no
// retry) and leave the breaker alone, however many times it happens.
describe('DatabaseService classification on a real PostgreSQL', () => {
  let database: TestDatabase;
  let app: DatabaseApp;

  beforeAll(async () => {
    database = await createTestDatabase('classify');
    app = await createDatabaseApp(database.url, {
      reliability: {
        // A breaker that would open after 2 counted failures out of 2 calls.
        circuits: { database: { volumeThreshold: 2, failureThreshold: 0.5, resetTimeout: 60_000 } },
        database: { retry: { maxAttempts: 5, baseDelay: 10, maxDelay: 20, budget: false } },
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('does not retry P2002 nor count it as a breaker failure', async () => {
    const { db } = app;
    await db.executeWithReliability((prisma) => prisma.user.create({ data: { email: 'taken@example.com' } }));
    let calls = 0;
    const errors: unknown[] = [];
    for (let i = 0; i < 10; i++) {
      await db
        .executeWithReliability((prisma) => {
          calls++;
          return prisma.user.create({ data: { email: 'taken@example.com' } });
        })
        .catch((error: unknown) => errors.push(error));
    }

    expect(errors).toHaveLength(10);
    for (const error of errors) {
      expect(error).toMatchObject({ code: 'P2002' }); // the caller's error, unchanged
      expect(classifyDatabaseError(error)).toBe('permanent');
    }
    expect(calls).toBe(10); // one attempt each: no retry
    const metrics = db.getDatabaseMetrics();
    expect(metrics).toMatchObject({
      queries: 11,
      successes: 1,
      failures: { transient: 0, permanent: 10, rejected: 0 },
      retries: 0,
      circuit: { name: 'database', state: 'CLOSED' },
    });
    const circuit = app.module.get(CircuitBreakerService).getCircuitMetrics('database');
    expect(circuit?.state).toBe('CLOSED');
    expect(circuit?.failures).toBe(0);
  });

  it('does not retry P2025 (record not found) either', async () => {
    let calls = 0;
    await expect(
      app.db.executeWithReliability((prisma) => {
        calls++;
        return prisma.task.update({ where: { id: 'missing' }, data: { attempts: 1 } });
      }),
    ).rejects.toMatchObject({ code: 'P2025' });
    expect(calls).toBe(1);
  });

  it('keeps the client fully typed and reports real latency and pool figures', async () => {
    const users = await app.db.getPrismaClient().user.findMany({ select: { email: true } });
    const emails: string[] = users.map((u) => u.email); // typed: `email: string`
    expect(emails).toContain('taken@example.com');
    const metrics = app.db.getDatabaseMetrics();
    expect(metrics.latency.count).toBe(
      metrics.successes + metrics.failures.transient + metrics.failures.permanent,
    );
    expect(metrics.latency.p50).toBeGreaterThan(0);
    expect(metrics.latency.p99).toBeGreaterThanOrEqual(metrics.latency.p50);
    expect(metrics.pool).toEqual({
      totalCount: app.pool.totalCount,
      idleCount: app.pool.idleCount,
      waitingCount: 0,
      max: 5,
    });
    expect(metrics.pool!.totalCount).toBeGreaterThan(0);
    expect(metrics.connection).toMatchObject({ connected: true, attempts: 1, lastError: null });
    await expect(app.db.healthCheck()).resolves.toMatchObject({ ok: true });
  });
});
