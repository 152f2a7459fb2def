import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createMigratedDatabase, SHARED_SERVER_ENV, TEMPLATE_DATABASE } from './postgres-databases';
import { PostgresServer } from './postgres-server';

/** Where the teardown finds the shared server: global setup and teardown run in the same process. */
export const SHARED_SERVER_KEY = Symbol.for('nestjs-reliability.test.postgres');

/**
 * Integration project setup: makes sure the test Prisma client is generated, starts one shared
 * embedded PostgreSQL 18 on a free port and migrates a template database that each test file copies.
 * Tests that stop the server start one of their own (see postgres-databases.ts).
 */
export default async function globalSetup(): Promise<void> {
  execFileSync(process.execPath, [join(__dirname, '..', '..', 'scripts', 'prisma-generate.mjs')], {
    stdio: 'inherit',
  });
  const started = performance.now();
  const server = await PostgresServer.create();
  (globalThis as Record<symbol, unknown>)[SHARED_SERVER_KEY] = server;
  await createMigratedDatabase(server, TEMPLATE_DATABASE);
  // Workers are forked after the global setup, so they inherit this.
  process.env[SHARED_SERVER_ENV] = server.url();
  if (process.env.RELIABILITY_TEST_VERBOSE) {
    console.log(
      `\nembedded postgres on port ${server.port}, ready in ${Math.round(performance.now() - started)} ms`,
    );
  }
}
