import type { PrismaClient } from '../generated/prisma/client';
import { createDatabaseApp, DatabaseApp } from '../support/database-app';
import { createTestDatabase, TestDatabase } from '../support/postgres-databases';

/** Resolves once `parties` callers have arrived; later arrivals pass straight through. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++arrived >= parties) open();
    return opened;
  };
}

// Test 4: two serializable transactions read the same row, then both write it. PostgreSQL lets
// one commit and fails the other with 40001 (Prisma: P2034); transaction() runs the loser again.
describe('DatabaseService.transaction() on a real PostgreSQL', () => {
  let database: TestDatabase;
  let app: DatabaseApp;

  beforeAll(async () => {
    database = await createTestDatabase('tx');
    app = await createDatabaseApp(database.url, {
      reliability: { database: { retry: { maxAttempts: 4, baseDelay: 20, maxDelay: 100, budget: false } } },
    });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('re-runs a whole serializable transaction after a conflict; statements inside are never retried alone', async () => {
    const { db } = app;
    const task = await db.executeWithReliability((p) =>
      p.task.create({ data: { description: 'contended' } }),
    );
    const bothHaveRead = barrier(2);
    const attemptsSeen: number[] = [];
    let statementCalls = 0;

    const increment = () =>
      db.transaction(
        async (tx, { attempt }) => {
          attemptsSeen.push(attempt);
          const row = await tx.task.findUniqueOrThrow({ where: { id: task.id } });
          await bothHaveRead();
          // Through executeWithReliability on purpose: inside a transaction it must run once.
          return db.executeWithReliability(() => {
            statementCalls++;
            return tx.task.update({ where: { id: task.id }, data: { attempts: row.attempts + 1 } });
          });
        },
        { isolationLevel: 'Serializable' },
      );

    const results = await Promise.all([increment(), increment()]);

    const final = await db.getPrismaClient().task.findUniqueOrThrow({ where: { id: task.id } });
    expect(final.attempts).toBe(2); // both increments applied: no lost update
    expect(results.map((r) => r.attempts).sort()).toEqual([1, 2]);
    expect(attemptsSeen.sort()).toEqual([1, 1, 2]); // exactly one re-run, of the whole transaction
    expect(statementCalls).toBe(attemptsSeen.length); // one statement call per transaction attempt
    const metrics = db.getDatabaseMetrics();
    expect(metrics.transactions).toEqual({ started: 2, committed: 2, retried: 1, conflicts: 1 });
    expect(metrics.retries).toBe(1);
    expect(metrics.failures).toEqual({ transient: 0, permanent: 0, rejected: 0 });
  });

  it('does not re-run a transaction that fails with a permanent error', async () => {
    let runs = 0;
    await app.db.getPrismaClient().user.create({ data: { email: 'one@example.com' } });
    await expect(
      app.db.transaction(async (tx) => {
        runs++;
        await tx.task.create({ data: { description: 'rolled back' } });
        return tx.user.create({ data: { email: 'one@example.com' } });
      }),
    ).rejects.toMatchObject({ code: 'P2002' });
    expect(runs).toBe(1);
    // Rolled back as a whole.
    expect(await app.db.getPrismaClient().task.count({ where: { description: 'rolled back' } })).toBe(0);
  });

  it('runs executeWithReliability / executeWithRetry / executeWithCircuitBreaker inside transaction() on its client', async () => {
    const { db } = app;
    const description = 'inside the transaction';
    const seen: number[] = [];
    const count = (p: PrismaClient): Promise<number> => p.task.count({ where: { description } });
    await expect(
      db.transaction(async (tx) => {
        await tx.task.create({ data: { description } });
        // The row is not committed: only the transaction's own connection sees it.
        seen.push(await db.executeWithReliability(count));
        seen.push(await db.executeWithRetry(count));
        seen.push(await db.executeWithCircuitBreaker(count));
        await db.executeWithRetry((p) => p.task.create({ data: { description } }));
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(seen).toEqual([1, 1, 1]);
    // The write made through executeWithRetry was part of the transaction: rolled back with it.
    expect(await count(db.getPrismaClient())).toBe(0);
  });

  it('work scheduled inside transaction() that runs after the commit uses the root client, with retry, and may open a transaction', async () => {
    const { db } = app;
    const root = db.getPrismaClient();
    const description = 'scheduled inside, run after the commit';
    const count = (p: PrismaClient): Promise<number> => p.task.count({ where: { description } });
    let committed!: () => void;
    const afterCommit = new Promise<void>((resolve) => (committed = resolve));
    let later!: Promise<{ clients: PrismaClient[]; counts: number[]; attempts: number }>;
    await db.transaction(async (tx) => {
      await tx.task.create({ data: { description } });
      // Started inside the callback, so it inherits the transaction's async context.
      later = new Promise<void>((resolve) => setTimeout(resolve, 0))
        .then(() => afterCommit)
        .then(async () => {
          const clients: PrismaClient[] = [];
          const counts: number[] = [];
          let attempts = 0;
          const seen = (p: PrismaClient) => (clients.push(p), count(p));
          counts.push(await db.executeWithReliability(seen));
          counts.push(await db.executeWithCircuitBreaker(seen));
          counts.push(
            await db.executeWithRetry(
              (p) => {
                // A transient error: retried only on the root client (inside a transaction, never).
                if (++attempts === 1) throw Object.assign(new Error('pool timeout'), { code: 'P2024' });
                return seen(p);
              },
              { maxAttempts: 2, baseDelay: 1, maxDelay: 1 },
            ),
          );
          counts.push(await db.transaction((t) => t.task.count({ where: { description } })));
          return { clients, counts, attempts };
        });
    });
    committed();
    const result = await later;
    expect(result.counts).toEqual([1, 1, 1, 1]);
    expect(result.clients).toHaveLength(3);
    expect(result.clients.every((c) => c === root)).toBe(true);
    expect(result.attempts).toBe(2);
  });

  it('refuses a nested transaction() with a clear error', async () => {
    await expect(app.db.transaction(() => app.db.transaction(async () => 1))).rejects.toThrow(
      /cannot be nested/,
    );
  });
});
