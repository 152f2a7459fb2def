import { Test, TestingModule } from '@nestjs/testing';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool, PoolConfig } from 'pg';
import { DatabaseService } from '../../src/database/database.service';
import { ReliabilityModule } from '../../src/reliability.module';
import type { ReliabilityModuleOptions } from '../../src/reliability-options.interface';
import { PrismaClient } from '../generated/prisma/client';

/** A Nest app context with ReliabilityModule wrapping a real Prisma 7 client over a pg.Pool. */
export interface DatabaseApp {
  module: TestingModule;
  db: DatabaseService<PrismaClient>;
  pool: Pool;
  /** Pool errors seen (idle connections killed by a restart...), so none goes unhandled. */
  poolErrors: string[];
  close(): Promise<void>;
}

export interface DatabaseAppOptions {
  /** Extra `pg.Pool` settings. */
  pool?: Partial<PoolConfig>;
  /** Everything of `forRoot` but `database.client` / `database.pool`. */
  reliability?: Omit<ReliabilityModuleOptions, 'database'> & {
    database?: Omit<NonNullable<ReliabilityModuleOptions['database']>, 'client' | 'pool'>;
  };
  /** Whether to `init()` (boot and connect). @default true */
  init?: boolean;
}

/** Quiet Nest logs in tests unless RELIABILITY_TEST_VERBOSE is set. */
const LOGGER = process.env.RELIABILITY_TEST_VERBOSE ? undefined : (false as const);

/** Boots `ReliabilityModule.forRoot({ database: { client: () => new PrismaClient({ adapter }), pool } })`. */
export async function createDatabaseApp(url: string, options: DatabaseAppOptions = {}): Promise<DatabaseApp> {
  const pool = new Pool({
    connectionString: url,
    max: 5,
    connectionTimeoutMillis: 2_000,
    query_timeout: 5_000,
    ...options.pool,
  });
  const poolErrors: string[] = [];
  pool.on('error', (error) => poolErrors.push(error.message));
  const { database, ...rest } = options.reliability ?? {};
  const module = await Test.createTestingModule({
    imports: [
      ReliabilityModule.forRoot({
        ...rest,
        database: { ...database, client: () => new PrismaClient({ adapter: new PrismaPg(pool) }), pool },
      }),
    ],
  })
    .setLogger(
      LOGGER === false ? { log() {}, warn() {}, error() {}, debug() {}, verbose() {}, fatal() {} } : console,
    )
    .compile();
  const db = module.get<DatabaseService<PrismaClient>>(DatabaseService);
  const close = async (): Promise<void> => {
    await module.close();
    if (!pool.ended) await pool.end().catch(() => undefined);
  };
  if (options.init !== false) {
    try {
      await module.init();
    } catch (error) {
      await close().catch(() => undefined);
      throw error;
    }
  }
  return { module, db, pool, poolErrors, close };
}
