import { SHARED_SERVER_KEY } from './postgres.global-setup';
import { PostgresServer } from './postgres-server';

/** Stops the shared server and removes its data folder. */
export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as Record<symbol, unknown>;
  const server = holder[SHARED_SERVER_KEY] as PostgresServer | undefined;
  delete holder[SHARED_SERVER_KEY];
  await server?.close();
}
