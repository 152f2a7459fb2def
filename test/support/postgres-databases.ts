import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { applyMigrations } from './migrate';
import { PostgresServer } from './postgres-server';

/** Database on the shared server that holds the migrated schema; tests copy it, never use it. */
export const TEMPLATE_DATABASE = 'reliability_template';
/** Set by the global setup: the shared server's admin connection string. */
export const SHARED_SERVER_ENV = 'RELIABILITY_TEST_PG_URL';

/** A fresh, migrated database of its own for one test file. */
export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env[SHARED_SERVER_ENV];
  if (!url) {
    throw new Error(
      `${SHARED_SERVER_ENV} is not set: run integration tests through jest's integration project`,
    );
  }
  return url;
}

/** Swaps the database name of a connection string. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Swaps the port of a connection string (to route it through a fault proxy). */
export function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

async function admin<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Copies the migrated template into a new database on the shared server (about 50 ms), so test
 * files never see each other's rows.
 */
export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const root = adminUrl();
  const name = `${prefix}_${randomBytes(4).toString('hex')}`.toLowerCase();
  await admin(root, (c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE_DATABASE}"`));
  return {
    name,
    url: withDatabase(root, name),
    drop: () =>
      admin(root, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** Creates `database` on `server` and applies the migrations to it. */
export async function createMigratedDatabase(server: PostgresServer, database = 'app'): Promise<string> {
  await admin(server.url(), (c) => c.query(`CREATE DATABASE "${database}"`));
  const url = server.url(database);
  await applyMigrations(url);
  return url;
}

/**
 * A server of the test's own (which it may stop and start), with a migrated database `app`.
 * Close it in `afterAll`.
 */
export async function startMigratedServer(): Promise<{ server: PostgresServer; url: string }> {
  const server = await PostgresServer.create();
  try {
    return { server, url: await createMigratedDatabase(server) };
  } catch (error) {
    await server.close();
    throw error;
  }
}
