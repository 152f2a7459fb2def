import { ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../support/free-port';

const root = join(__dirname, '..', '..');

/** Every descendant of `pid` (Linux /proc): npm, node, the server's control process, postgres. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command may hold spaces and parentheses: the parent pid is the 2nd field after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone while listing.
    }
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0;) {
    const next = children.get(queue.shift()!) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `npm start` in a process group of its own (as a terminal would run it); resolves once it serves. */
async function npmStart(port: number): Promise<{ npm: ChildProcess; output: () => string }> {
  let output = '';
  const npm = spawn('npm', ['start'], {
    cwd: root,
    detached: true,
    env: { ...process.env, PORT: String(port), SHUTDOWN_HEALTH_GRACE_PERIOD: '200', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('demo API on')) resolve();
    };
    npm.stdout!.on('data', onData);
    npm.stderr!.on('data', onData);
    npm.once('exit', (code) => reject(new Error(`npm start exited early with ${code}:\n${output}`)));
  });
  return { npm, output: () => output };
}

/** Sends `stop` and checks that the whole tree is gone and the ports are free. */
async function expectStopsCleanly(
  npm: ChildProcess,
  ports: number[],
  stop: () => void,
): Promise<{ code: number | null; signal: string | null }> {
  const tree = [npm.pid!, ...descendants(npm.pid!)];
  // npm, node (exec'd by npm's shell), the server's control process, the postmaster and its workers.
  expect(tree.length).toBeGreaterThanOrEqual(3);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    npm.once('exit', (code, signal) => resolve({ code, signal })),
  );
  stop();
  const result = await exited;
  // npm exits once node has; the postmaster's last workers may take a moment longer.
  for (let i = 0; i < 50 && tree.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  expect(tree.filter(alive)).toEqual([]);
  for (const port of ports) expect(await portIsFree(port)).toBe(true);
  return result;
}

/** The `npm start` demo, as a user runs it: embedded PostgreSQL, fake LLM, real port, real signals. */
describe('demo app (npm start)', () => {
  let npm: ChildProcess | undefined;

  afterEach(() => {
    // A failed test must not leave the demo running: its whole process group goes (the server's
    // control process stops PostgreSQL when its parent's IPC channel closes).
    try {
      if (npm?.pid) process.kill(-npm.pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
    npm = undefined;
  });

  const postgresPort = (output: string): number =>
    Number(/embedded PostgreSQL on port (\d+)/.exec(output)![1]);

  it('serves tasks, summaries, health and metrics, then one SIGTERM to npm stops the whole tree', async () => {
    const port = await freePort();
    const started = await npmStart(port);
    npm = started.npm;
    const base = `http://127.0.0.1:${port}`;

    const created = await fetch(`${base}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'Take a screenshot', idempotencyKey: 'demo-1' }),
    });
    expect(created.status).toBe(201);
    const task = (await created.json()) as { id: string };
    // The same key again is a no-op: same row.
    const again = await fetch(`${base}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'Take a screenshot', idempotencyKey: 'demo-1' }),
    });
    expect(((await again.json()) as { id: string }).id).toBe(task.id);

    // The fake provider fails some calls with 529/429: retries make every summary succeed.
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${base}/tasks/${task.id}/summary`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { summary: string }).summary).toMatch(/^Summary #\d+/);
    }
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    const metrics = (await (await fetch(`${base}/metrics`)).json()) as any;
    expect(metrics.retries.llm.attempts).toBeGreaterThan(6); // some summaries needed a retry
    expect(metrics.circuits.database.state).toBe('CLOSED');
    expect(metrics.shutdown.phase).toBe('RUNNING');

    const { code, signal } = await expectStopsCleanly(npm, [port, postgresPort(started.output())], () =>
      process.kill(npm!.pid!, 'SIGTERM'),
    );
    const output = started.output();
    expect({ code, signal, output: code === 0 || signal === 'SIGTERM' ? '' : output }).toMatchObject({
      output: '',
    });
    expect(output).toContain('SIGTERM received');
    expect(output).toContain('Shutdown complete');
  }, 60_000);

  it('Ctrl-C (SIGINT to the process group) stops the app first and PostgreSQL last', async () => {
    const port = await freePort();
    const started = await npmStart(port);
    npm = started.npm;
    expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);

    await expectStopsCleanly(npm, [port, postgresPort(started.output())], () =>
      process.kill(-npm!.pid!, 'SIGINT'),
    );
    const output = started.output();
    expect(output).toContain('SIGINT received');
    // One press: npm's forwarded copy of the signal must not cut the grace period short.
    expect(output).not.toContain('received again');
    // The database outlived the app's drain and its own $disconnect: no connection was cut under it.
    expect(output).not.toMatch(/connection lost|terminating connection|ECONNREFUSED/);
    const stopped = output.indexOf('embedded PostgreSQL stopped');
    expect(stopped).toBeGreaterThan(output.indexOf('Database disconnected'));
    expect(output.indexOf('Shutdown complete')).toBeGreaterThan(stopped);
  }, 60_000);
});
