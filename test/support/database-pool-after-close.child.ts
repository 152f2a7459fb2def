// The Prisma set-up of docs/database.md in a process of its own: a pg.Pool with no 'error' listener of the
// app's, handed to `new PrismaPg(pool)`. Boots, runs queries, closes the app and tells the parent,
// which then stops PostgreSQL. Answers 'check' with the pool's figures for as long as it lives.
import 'reflect-metadata';
import { ConsoleLogger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { DatabaseService } from '../../src/database/database.service';
import { ReliabilityModule } from '../../src/reliability.module';
import { PrismaClient } from '../generated/prisma/client';

async function main(): Promise<void> {
  const pool = new Pool({ connectionString: process.argv[2], max: 4, idleTimeoutMillis: 60_000 });
  const module = await Test.createTestingModule({
    imports: [
      ReliabilityModule.forRoot({
        database: { client: () => new PrismaClient({ adapter: new PrismaPg(pool) }) },
      }),
    ],
  })
    .setLogger(new ConsoleLogger())
    .compile();
  await module.init();
  const db = module.get<DatabaseService<PrismaClient>>(DatabaseService);
  // Several at once, so that the pool keeps several idle connections afterwards.
  await Promise.all(
    [1, 2, 3].map(() =>
      db.executeWithReliability((p) => p.$queryRawUnsafe('SELECT 1 AS one FROM pg_sleep(0.05)')),
    ),
  );
  await module.close();
  process.on('message', (message) => {
    if (message === 'check') process.send!({ event: 'alive', total: pool.totalCount, ended: pool.ended });
    if (message === 'end') void pool.end().then(() => process.disconnect());
  });
  process.send!({ event: 'closed', total: pool.totalCount, idle: pool.idleCount });
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
