import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../support/free-port';

const root = join(__dirname, '..', '..');

/** The `npm start` demo, as a user runs it: embedded PostgreSQL, fake LLM, real port, real SIGTERM. */
describe('demo app (npm start)', () => {
  let child: ChildProcess | undefined;
  let output = '';

  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('serves tasks, summaries, health and metrics, then shuts down on SIGTERM', async () => {
    const port = await freePort();
    child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'examples/demo/main.ts'], {
      cwd: root,
      env: { ...process.env, PORT: String(port), SHUTDOWN_HEALTH_GRACE_PERIOD: '200', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('demo API on')) resolve();
      };
      child!.stdout!.on('data', onData);
      child!.stderr!.on('data', onData);
      child!.once('exit', (code) => reject(new Error(`demo exited early with ${code}:\n${output}`)));
    });
    await started;
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

    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child!.once('exit', (code, signal) => resolve({ code, signal })),
    );
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    expect({ code, signal, output: code === 0 || signal === 'SIGTERM' ? '' : output }).toMatchObject({
      output: '',
    });
    expect(output).toContain('Shutdown complete');
  }, 60_000);
});
