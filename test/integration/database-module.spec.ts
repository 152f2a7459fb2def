import { Global, Injectable, Module, OnModuleDestroy } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { isReliabilityConfigError } from '../../src/core/common/errors';
import { DatabaseService } from '../../src/database/database.service';
import type { TransactionClientOf } from '../../src/database/database.types';
import { ReliabilityModule } from '../../src/reliability.module';
import { PrismaClient } from '../generated/prisma/client';
import { createTestDatabase, TestDatabase } from '../support/postgres-databases';

const SILENT = { log() {}, warn() {}, error() {}, debug() {}, verbose() {}, fatal() {} };

// Compile-time checks: the generic keeps the generated client's types.
type Tx = TransactionClientOf<PrismaClient>;
const txHasModels: Tx extends { task: unknown; user: unknown; message: unknown } ? true : false = true;
const txHasNoConnect: Tx extends { $connect: unknown } ? false : true = true;

describe('ReliabilityModule database wiring', () => {
  let database: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    database = await createTestDatabase('module');
    pool = new Pool({
      connectionString: database.url,
      max: 2,
      query_timeout: 5_000,
      connectionTimeoutMillis: 2_000,
    });
  });

  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('keeps the transaction client typed', () => {
    expect([txHasModels, txHasNoConnect]).toEqual([true, true]);
  });

  it('takes the app client from an existing provider through forRootAsync, and finds its pg.Pool', async () => {
    @Injectable()
    class PrismaService extends PrismaClient implements OnModuleDestroy {
      constructor() {
        super({ adapter: new PrismaPg(pool) });
      }
      disconnects = 0;
      async onModuleDestroy(): Promise<void> {
        this.disconnects++;
      }
    }
    @Global()
    @Module({ providers: [PrismaService], exports: [PrismaService] })
    class PrismaModule {}

    const module = await Test.createTestingModule({
      imports: [
        PrismaModule,
        ReliabilityModule.forRootAsync({
          useFactory: async () => ({ database: { useExisting: PrismaService, healthTimeout: 1_000 } }),
        }),
      ],
    })
      .setLogger(SILENT)
      .compile();
    await module.init();
    try {
      const db = module.get<DatabaseService<PrismaService>>(DatabaseService);
      expect(db.getPrismaClient()).toBe(module.get(PrismaService));
      await db.executeWithReliability((p) => p.user.create({ data: { email: 'async@example.com' } }));
      const users = await db.getPrismaClient().user.findMany();
      expect(users.map((u) => u.email)).toEqual(['async@example.com']);
      // Found behind `new PrismaPg(pool)`, not passed in.
      expect(db.getDatabaseMetrics().pool).toMatchObject({ max: 2, waitingCount: 0 });
      expect(db.getDatabaseMetrics().connection.connected).toBe(true);
    } finally {
      await module.close();
    }
  });

  it('stops boot with a clear error when both client and useExisting are given', async () => {
    const module = await Test.createTestingModule({
      imports: [
        ReliabilityModule.forRoot({
          database: {
            client: () => new PrismaClient({ adapter: new PrismaPg(pool) }),
            useExisting: 'PRISMA',
          },
        }),
      ],
    })
      .setLogger(SILENT)
      .compile();
    const error = await module.init().catch((e: unknown) => e);
    expect(isReliabilityConfigError(error)).toBe(true);
    expect((error as Error).message).toContain('database.client');
    expect((error as Error).message).toContain('give exactly one of');
    await module.close().catch(() => undefined); // close() rethrows the failed init
  });

  it('rejects a client that is not a Prisma client, naming the option', async () => {
    const module = await Test.createTestingModule({
      imports: [ReliabilityModule.forRoot({ database: { client: () => ({ query: () => 1 }) } })],
    })
      .setLogger(SILENT)
      .compile();
    const error = await module.init().catch((e: unknown) => e);
    expect(isReliabilityConfigError(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /database\.client=.*must give a Prisma client; missing \$connect/,
    );
    await module.close().catch(() => undefined);
  });

  it('without a database: says how to configure one, and the health check reports it', async () => {
    const module = await Test.createTestingModule({ imports: [ReliabilityModule.forRoot()] })
      .setLogger(SILENT)
      .compile();
    await module.init();
    try {
      const db = module.get(DatabaseService);
      expect(() => db.getPrismaClient()).toThrow(
        /pass `database: \{ client: \(\) => new PrismaClient\(\{ adapter \}\) \}`/,
      );
      await expect(db.healthCheck()).resolves.toMatchObject({
        ok: false,
        error: 'no database is configured',
      });
      await expect(db.executeWithReliability(() => 1)).rejects.toThrow(/DatabaseService has no client/);
    } finally {
      await module.close();
    }
  });

  it('with connectOnBoot: false, boots without touching the database', async () => {
    const module = await Test.createTestingModule({
      imports: [
        ReliabilityModule.forRoot({
          database: {
            client: () =>
              new PrismaClient({
                adapter: new PrismaPg({ connectionString: 'postgresql://x:y@127.0.0.1:1/none' }),
              }),
            connectOnBoot: false,
          },
        }),
      ],
    })
      .setLogger(SILENT)
      .compile();
    await module.init();
    try {
      const db = module.get(DatabaseService);
      expect(db.getDatabaseMetrics()).toMatchObject({
        connection: { connected: false, attempts: 0 },
        pool: null,
      });
    } finally {
      await module.close();
    }
  });
});
