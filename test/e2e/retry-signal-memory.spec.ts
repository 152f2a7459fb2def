/**
 * Memory of retried calls with caller signals, measured in a child process with --expose-gc (jest's
 * own heap is too noisy to measure a few MiB): 20,000 calls, each with its own signal, through
 * RetryService on the fake clock.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const FIXTURE = 'test/fixtures/retry-signal-memory/main.ts';

function runFixture(timeoutMs: number): Promise<string> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      ['--expose-gc', '-r', 'ts-node/register/transpile-only', FIXTURE],
      { cwd: ROOT, timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => (error ? fail(new Error(`${error.message}\n${stderr}`)) : done(stdout)),
    );
  });
}

describe('RetryService memory with caller signals', () => {
  it('20,000 retried calls, each with its own signal, retain under 8 MiB and warn of no listener leak', async () => {
    const out = await runFixture(25_000);
    const match = /retained-mib (-?[\d.]+) listener-warnings (\d+)/.exec(out);
    expect(match).not.toBeNull();
    const retainedMiB = Number(match![1]);
    expect(retainedMiB).toBeLessThan(8);
    expect(Number(match![2])).toBe(0);
  }, 30_000);
});
