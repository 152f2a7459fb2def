import { fork } from 'node:child_process';
import { join } from 'node:path';
import { startMigratedServer } from '../support/postgres-databases';
import { PostgresServer } from '../support/postgres-server';

interface Report {
  event: 'closed' | 'alive';
  total: number;
  idle?: number;
}

// A pool handed to `new PrismaPg(pool)` is the app's: Prisma's $disconnect neither ends it nor keeps
// its 'error' listener. When the database goes away after app.close(), the idle clients' 57P01 must
// not crash the process.
describe('a pool handed to PrismaPg, after app.close()', () => {
  let server: PostgresServer;
  let url: string;

  beforeAll(async () => {
    ({ server, url } = await startMigratedServer());
  });

  afterAll(async () => {
    await server?.close();
  });

  it('survives PostgreSQL stopping: the idle clients are dropped, the process lives on', async () => {
    let output = '';
    const child = fork(join(__dirname, '..', 'support', 'database-pool-after-close.child.ts'), [url], {
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const next = (): Promise<Report> =>
      new Promise((resolve, reject) => {
        const onExit = (code: number | null): void => reject(new Error(`child exited (${code}):\n${output}`));
        child.once('exit', onExit);
        child.once('message', (message: Report) => {
          child.off('exit', onExit);
          resolve(message);
        });
      });
    try {
      const closed = await next();
      expect(closed).toMatchObject({ event: 'closed' });
      expect(closed.idle).toBeGreaterThan(0); // idle connections outlive app.close()

      // Fast shutdown: every idle session gets 57P01 "terminating connection due to administrator command".
      await server.stop('fast');
      let report: Report;
      do {
        child.send('check');
        report = await next();
      } while (report.total > 0);
      expect(report).toEqual({ event: 'alive', total: 0, ended: false });
      expect(output).toContain('Idle database connection lost');
      child.send('end');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      if (!server.isRunning) await server.start();
    }
  }, 60_000);
});
