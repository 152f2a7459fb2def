import type { PgPoolLike } from './database.types.js';

/** Marks a pool that has the listener already (any package copy, any app of the process). */
const GUARDED = Symbol.for('nestjs-reliability.pool-error-listener');

interface ErrorEmitter {
  on(event: 'error', listener: (error: Error) => void): unknown;
  listenerCount(event: 'error'): number;
}

/**
 * Keeps one `'error'` listener on the app's pool for the life of the process.
 *
 * An idle `pg` client whose server goes away (restart, failover: 57P01) makes the pool emit
 * `'error'`, and an `'error'` with no listener crashes the process. PrismaPg listens only while
 * connected: it removes its listener on `$disconnect` but leaves a pool it was given open, so
 * after `app.close()` the next outage would crash the process. The listener never ends the pool
 * (it is the app's) and stays silent while another listener (the app's, PrismaPg's) is there.
 */
export function listenForPoolErrors(pool: PgPoolLike, warn: (message: string) => void): void {
  const emitter = pool as PgPoolLike & Partial<ErrorEmitter> & { [GUARDED]?: true };
  if (typeof emitter.on !== 'function' || typeof emitter.listenerCount !== 'function') return;
  if (emitter[GUARDED]) return;
  Object.defineProperty(emitter, GUARDED, { value: true });
  emitter.on('error', (error: Error) => {
    if (emitter.listenerCount!('error') > 1) return;
    warn(
      `Idle database connection lost (${error?.message ?? String(error)}); the pool opens a new one when needed`,
    );
  });
}
