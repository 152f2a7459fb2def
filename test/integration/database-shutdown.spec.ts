import { ChildProcess, spawn } from 'node:child_process';
import { get } from 'node:http';
import { join } from 'node:path';
import { systemClock } from '../../src/core/common/clock';
import { createTestDatabase, TestDatabase } from '../support/postgres-databases';

interface ChildEvent {
  event: string;
  t: number;
  id?: number;
  kind?: string;
  port?: number;
  error?: string;
  tasks?: string[];
}

const CHILD = join(__dirname, '..', 'support', 'database-shutdown.child.ts');

function request(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

// Test 7: SIGTERM while queries run, some for HTTP requests and some in a background job. The
// queries must all finish, and only then may the library call $disconnect.
describe('DatabaseService on SIGTERM (child process app)', () => {
  let database: TestDatabase;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('shutdown');
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await database?.drop();
  });

  it('lets in-flight queries finish before $disconnect', async () => {
    const events: ChildEvent[] = [];
    let stderr = '';
    child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CHILD], {
      cwd: join(__dirname, '..', '..'),
      env: { ...process.env, DATABASE_URL: database.url, TS_NODE_TRANSPILE_ONLY: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child!.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const waiters: Array<() => void> = [];
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          events.push(JSON.parse(line) as ChildEvent);
        } catch {
          stderr += `${line}\n`;
        }
        for (const wake of waiters.splice(0)) wake();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const until = (what: string, check: () => boolean): Promise<void> =>
      new Promise((resolve, reject) => {
        const test = (): void => {
          if (check()) resolve();
          else if (events.some((e) => e.event === 'boot-failed') || child!.exitCode !== null) {
            reject(new Error(`child gave up before ${what}: ${JSON.stringify(events)}\n${stderr}`));
          } else waiters.push(test);
        };
        test();
      });

    await until('listening', () => events.some((e) => e.event === 'listening'));
    const port = events.find((e) => e.event === 'listening')!.port!;
    const responses = [request(port, '/slow'), request(port, '/slow'), request(port, '/slow')];
    await expect(request(port, '/background')).resolves.toBe(200);
    await until('5 queries running', () => events.filter((e) => e.event === 'query-start').length === 5);
    const signalledAt = systemClock.now();
    child.kill('SIGTERM');

    const statuses = await Promise.all(responses);
    const exit = await exited;
    const done = events.filter((e) => e.event === 'query-done');
    const disconnect = events.find((e) => e.event === 'disconnect-start');

    expect(statuses).toEqual([200, 200, 200]);
    expect(events.filter((e) => e.event === 'query-failed')).toEqual([]);
    expect(done).toHaveLength(5);
    expect(disconnect).toBeDefined();
    expect(events.some((e) => e.event === 'disconnect-done')).toBe(true);
    for (const query of done) expect(query.t).toBeLessThanOrEqual(disconnect!.t);
    // The callers' own code after the awaited call ran before the disconnect too.
    const callsDone = events.filter((e) => e.event === 'call-done');
    expect(callsDone).toHaveLength(5);
    for (const call of callsDone) expect(call.t).toBeLessThanOrEqual(disconnect!.t);
    // The background queries (1.2 s) outlive the HTTP drain: $disconnect waited for them.
    const lastBackground = Math.max(...done.filter((e) => e.kind === 'background').map((e) => e.t));
    expect(disconnect!.t).toBeGreaterThanOrEqual(lastBackground);
    // $disconnect ran as ShutdownService's cleanup task, after the HTTP drain.
    expect(events.find((e) => e.event === 'cleanup-tasks')?.tasks).toContain('database:ok');
    // Ended by Nest re-raising SIGTERM after close, not by the force-exit watchdog (code 1).
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    console.log(
      `shutdown: SIGTERM with 5 queries in flight; last query done ${lastBackground - signalledAt} ms later, ` +
        `$disconnect at ${disconnect!.t - signalledAt} ms; exit ${exit.signal ?? exit.code}`,
    );
  }, 30_000);
});
