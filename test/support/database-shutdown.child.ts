// A small Nest HTTP app for the SIGTERM test (test/integration/database-shutdown.spec.ts): routes
// that run slow queries through DatabaseService, and a background job that is not an HTTP request.
// It prints one JSON line per event on stdout: { event, t }.
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { systemClock } from '../../src/core/common/clock';
import { DatabaseService } from '../../src/database/database.service';
import { ReliabilityModule } from '../../src/reliability.module';
import { ShutdownService } from '../../src/shutdown/shutdown.service';
import { PrismaClient } from '../generated/prisma/client';

const emit = (event: string, extra: object = {}): void => {
  process.stdout.write(JSON.stringify({ event, t: systemClock.now(), ...extra }) + '\n');
};

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 8, allowExitOnIdle: true });
pool.on('error', () => undefined);

function createClient(): PrismaClient {
  const client = new PrismaClient({ adapter: new PrismaPg(pool) });
  const disconnect = client.$disconnect.bind(client);
  // Record when the library disconnects, to compare with the queries' end.
  Object.defineProperty(client, '$disconnect', {
    value: async () => {
      emit('disconnect-start');
      await disconnect();
      emit('disconnect-done');
    },
  });
  return client;
}

let queryId = 0;
async function slowQuery(db: DatabaseService<PrismaClient>, seconds: number, kind: string): Promise<void> {
  const id = ++queryId;
  try {
    await db.executeWithReliability(async (prisma) => {
      emit('query-start', { id, kind });
      const rows = await prisma.$queryRawUnsafe(`SELECT 1 AS ok FROM pg_sleep(${seconds})`);
      emit('query-done', { id, kind });
      return rows;
    });
    emit('call-done', { id, kind });
  } catch (error) {
    emit('query-failed', { id, kind, error: String((error as Error)?.message ?? error) });
  }
}

@Controller()
class SlowController {
  constructor(private readonly db: DatabaseService<PrismaClient>) {}

  @Get('slow')
  async slow(): Promise<{ ok: true }> {
    await slowQuery(this.db, 0.8, 'http');
    return { ok: true };
  }

  /** Starts background queries and answers at once: nothing HTTP waits for them. */
  @Get('background')
  background(): { started: number } {
    for (let i = 0; i < 2; i++) void slowQuery(this.db, 1.2, 'background');
    return { started: 2 };
  }
}

@Module({
  imports: [
    ReliabilityModule.forRoot({
      shutdown: { healthGracePeriod: 0, drainTimeout: 5_000, forceTimeout: 20_000, taskTimeout: 5_000 },
      database: { client: createClient, pool },
    }),
  ],
  controllers: [SlowController],
})
class AppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  const shutdown = app.get(ShutdownService);
  // Runs after every other cleanup task (lowest priority): reports which ran, and how.
  shutdown.registerCleanupTask(
    'report',
    () => {
      const tasks = shutdown.getShutdownMetrics().tasks.map((t) => `${t.name}:${t.outcome}`);
      emit('cleanup-tasks', { tasks });
    },
    { priority: -1_000 },
  );
  const address = app.getHttpServer().address();
  emit('listening', { port: typeof address === 'object' && address ? address.port : 0 });
}

main().catch((error) => {
  emit('boot-failed', { error: String(error) });
  process.exit(1);
});
