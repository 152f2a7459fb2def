/**
 * Counts the database calls running now, so that shutdown can wait for them before `$disconnect`.
 * A call is counted until its promise settles, even after a timeout gave up on it: the query still
 * holds a connection until then.
 */
export class InFlightTracker {
  private running = 0;
  private waiters: Array<() => void> = [];

  get count(): number {
    return this.running;
  }

  /** Counts `work` while it runs; returns it unchanged. */
  track<T>(work: PromiseLike<T>): Promise<T> {
    this.running++;
    return Promise.resolve(work).finally(() => {
      this.running--;
      if (this.running === 0) {
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
      }
    });
  }

  /**
   * Resolves when nothing runs, or when `signal` aborts (the caller then goes on regardless).
   * Once idle, it waits one more turn of the event loop, so that the code awaiting the last call
   * (its logging, its response) runs before whatever comes next, e.g. `$disconnect`. The turn is
   * not a clock timer: it is no wait, and a fake clock that nobody advances would hold the close.
   */
  async whenIdle(signal?: AbortSignal): Promise<void> {
    if (this.running > 0 && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.waiters.push(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
