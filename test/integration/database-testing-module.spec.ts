/**
 * ReliabilityTestingModule with a real Prisma 7 client over a real PostgreSQL: the app boots, queries
 * and closes without the test moving the fake clock (closing waits for no fake timer).
 */
import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { DatabaseService } from '../../src/database/database.service';
import { FakeClock, ReliabilityTestingModule } from '../../src/testing';
import { PrismaClient } from '../generated/prisma/client';
import { createTestDatabase, TestDatabase } from '../support/postgres-databases';

const SILENT = { log() {}, warn() {}, error() {}, debug() {}, verbose() {}, fatal() {} };

/** Rejects when `work` takes more than `ms` of real time (a close stuck on a fake timer never ends). */
function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

describe('ReliabilityTestingModule with DatabaseService', () => {
  let database: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    database = await createTestDatabase('testing_module');
    pool = new Pool({ connectionString: database.url, max: 2, connectionTimeoutMillis: 2_000 });
    pool.on('error', () => undefined);
  });

  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('boots, queries and closes with no move of the fake clock', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ReliabilityTestingModule.forRoot({
          database: { client: () => new PrismaClient({ adapter: new PrismaPg(pool) }), pool },
        }),
      ],
    })
      .setLogger(SILENT)
      .compile();
    const app: INestApplicationContext = await within(moduleRef.init(), 10_000, 'init()');
    const clock = app.get(FakeClock);
    const db = app.get<DatabaseService<PrismaClient>>(DatabaseService);
    const started = clock.now();
    await expect(
      db.executeWithReliability((client) => client.$queryRawUnsafe('SELECT 1 AS one')),
    ).resolves.toEqual([{ one: 1 }]);
    await within(app.close(), 5_000, 'app.close()');
    expect(clock.now()).toBe(started);
  });
});
