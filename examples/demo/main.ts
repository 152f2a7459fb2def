/**
 * `npm start`: the demo API with an embedded PostgreSQL and a fake LLM provider, all on 127.0.0.1.
 *
 *   curl -XPOST localhost:3000/tasks -H 'content-type: application/json' -d '{"description":"hi"}'
 *   curl localhost:3000/tasks/<id>/summary      # retried 529s / 429s, fallback when the model is down
 *   curl localhost:3000/health/ready  localhost:3000/metrics
 *
 * Ctrl-C (SIGINT) or SIGTERM shuts it down gracefully: readiness 503, drain, cleanup, exit.
 * PostgreSQL runs in a process group of its own, so a Ctrl-C reaches only the app, which stops the
 * database last, as its final cleanup task. (`npm start` execs node, so npm's SIGTERM reaches it.)
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Pool } from 'pg';
import { applyMigrations } from '../../test/support/migrate';
import { PostgresServer } from '../../test/support/postgres-server';
import { ShutdownService } from '../../src';
import { AppModule } from './app.module';
import { startFakeLlm } from './fake-llm.server';

async function main(): Promise<void> {
  const logger = new Logger('Demo');
  const port = Number(process.env.PORT ?? 3000);
  const postgres = await PostgresServer.create();
  try {
    await serve(logger, port, postgres);
  } catch (error) {
    await postgres.close();
    throw error;
  }
}

async function serve(logger: Logger, port: number, postgres: PostgresServer): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL ?? postgres.url();
  await applyMigrations(databaseUrl);
  const llm = await startFakeLlm();
  logger.log(`embedded PostgreSQL on port ${postgres.port}, fake LLM at ${llm.url}`);

  const pool = new Pool({
    connectionString: databaseUrl,
    max: 10,
    query_timeout: 10_000,
    connectionTimeoutMillis: 10_000,
  });
  // An idle client whose server went away emits 'error' on the pool; without a listener that crashes the process.
  pool.on('error', (error) => logger.warn(`idle database connection lost: ${error.message}`));
  const app = await NestFactory.create(AppModule.register(pool, llm.url));
  app.enableShutdownHooks();
  // The fake provider and the embedded database go last: after the drain, and after DatabaseService's
  // own $disconnect task (priority -100), since higher priorities run first.
  const shutdown = app.get(ShutdownService);
  // pool.end() resolves once its clients are told to close, not once they have: wait for each one's 'end', or
  // the server's stop below can reach a client still closing (57P01, 'connection lost' in the log).
  shutdown.registerCleanupTask(
    'pg-pool',
    async () => {
      const closing: Promise<void>[] = [];
      pool.on('remove', (client) => closing.push(new Promise((resolve) => client.once('end', resolve))));
      await pool.end();
      await Promise.all(closing);
    },
    { priority: -150 },
  );
  shutdown.registerCleanupTask('fake-llm', () => llm.close(), { priority: -200 });
  shutdown.registerCleanupTask(
    'embedded-postgres',
    async () => {
      await postgres.close();
      logger.log('embedded PostgreSQL stopped');
    },
    {
      priority: -300,
      timeoutMs: 10_000,
    },
  );
  await app.listen(port, '127.0.0.1');
  logger.log(`demo API on http://127.0.0.1:${port} (try /tasks, /health/ready, /metrics)`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
