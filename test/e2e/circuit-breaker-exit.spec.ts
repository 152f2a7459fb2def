/**
 * The service leaves nothing behind: a child process that used it (HTTP traffic, thousands of
 * circuits, an open circuit, a call hanging under a 60 s timeout) exits by itself after
 * app.close(), without process.exit().
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const FIXTURE = 'test/fixtures/circuit-breaker-exit/main.ts';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  /** ms from the "closed" line to the exit. */
  afterClose: number | undefined;
}

function runFixture(timeoutMs: number): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', FIXTURE], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let closedAt: number | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (closedAt === undefined && output.includes('closed ')) closedAt = performance.now();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`fixture still running after ${timeoutMs} ms; output:\n${output}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      done({
        code,
        signal,
        output,
        afterClose: closedAt === undefined ? undefined : performance.now() - closedAt,
      });
    });
  });
}

describe('CircuitBreakerService and process exit (e2e, child process)', () => {
  it('lets the process exit by itself after app.close()', async () => {
    const run = await runFixture(45_000);
    expect(run.output).toMatch(/closed \d+/);
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });
    // Nothing (no interval, no ref'd timer, not the 60 s deadline of the hanging call) held it.
    expect(run.afterClose).toBeLessThan(3_000);
  }, 60_000);
});
