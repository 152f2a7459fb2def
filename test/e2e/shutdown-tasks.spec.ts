/**
 * Cleanup tasks, the drain deadline and the force-exit watchdog, each in a real child process
 * that gets a real SIGTERM.
 */
import { Agent } from 'node:http';
import { FixtureProcess, metricsOf, startApp } from '../support/shutdown-process';
import { get, sleep } from '../support/shutdown-load';

let running: FixtureProcess | undefined;
afterEach(() => running?.kill());

describe('shutdown in a child process', () => {
  it('runs the cleanup tasks by priority, then newest first; a throwing or timed-out task does not stop the rest', async () => {
    const { app } = await startApp({
      TASKS: 'order',
      SHUTDOWN_HEALTH_GRACE_PERIOD: '0',
      SHUTDOWN_DRAIN_TIMEOUT: '1000',
      SHUTDOWN_FORCE_TIMEOUT: '5000',
    });
    running = app;
    process.kill(app.pid, 'SIGTERM');
    const exit = await app.waitForExit(4_000);

    expect(exit.signal).toBe('SIGTERM');
    const ran = app.lines().filter((l) => l.startsWith('TASK '));
    // b has priority 10; a, c, e have 0 and run newest first; d has -5; `never` was disposed.
    expect(ran).toEqual(['TASK b', 'TASK e', 'TASK c', 'TASK a', 'TASK d']);
    const tasks = metricsOf(app).tasks as Array<{
      name: string;
      outcome: string;
      error?: string;
      durationMs: number;
    }>;
    expect(tasks.map((t) => [t.name, t.outcome])).toEqual([
      ['b', 'ok'],
      ['e', 'timed_out'],
      ['c', 'failed'],
      ['a', 'ok'],
      ['d', 'ok'],
    ]);
    expect(tasks[1].error).toMatch(/timed out after 200 ms/);
    expect(tasks[1].durationMs).toBeGreaterThanOrEqual(195);
    expect(tasks[2].error).toBe('c failed');
  });

  it('a hanging cleanup task: the watchdog exits with code 1 at SHUTDOWN_FORCE_TIMEOUT', async () => {
    const force = 1_500;
    const { app } = await startApp({
      TASKS: 'hang',
      SHUTDOWN_HEALTH_GRACE_PERIOD: '100',
      SHUTDOWN_DRAIN_TIMEOUT: '500',
      SHUTDOWN_FORCE_TIMEOUT: String(force),
    });
    running = app;
    const signalAt = performance.now();
    process.kill(app.pid, 'SIGTERM');
    const exit = await app.waitForExit(force + 3_000);
    const elapsed = exit.at - signalAt;

    expect(exit.code).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(force - 50);
    expect(elapsed).toBeLessThan(force + 1_500);
    expect(app.lines()).toContain('TASK hang');
    expect(app.output()).toMatch(/SHUTDOWN_FORCE_TIMEOUT \(1500 ms\).*cleanup task "hang" still running/);
  });

  it('a request longer than the drain timeout is cut at the deadline and counted', async () => {
    const grace = 100;
    const drain = 500;
    const { app, port } = await startApp({
      SHUTDOWN_HEALTH_GRACE_PERIOD: String(grace),
      SHUTDOWN_DRAIN_TIMEOUT: String(drain),
      SHUTDOWN_FORCE_TIMEOUT: '5000',
    });
    running = app;
    const agent = new Agent({ keepAlive: true });
    const short = get(port, '/work?ms=300', agent);
    const long = get(port, '/work?ms=5000', agent);
    await sleep(100);
    const signalAt = performance.now();
    process.kill(app.pid, 'SIGTERM');
    const [shortResult, longResult] = await Promise.all([short, long]);
    agent.destroy();
    const exit = await app.waitForExit(grace + drain + 2_000);

    expect(shortResult.status).toBe(200);
    expect(longResult.status).toBeUndefined();
    expect(longResult.error).toMatch(/ECONNRESET|socket hang up/);
    expect(exit.signal).toBe('SIGTERM');
    expect(exit.at - signalAt).toBeLessThan(grace + drain + 2_000);
    const metrics = metricsOf(app);
    expect(metrics.requests.cut).toBe(1);
    expect(metrics.requests.drained).toBe(1);
    expect(metrics.drainFinishedAt - metrics.phaseStartedAt.DRAINING).toBeGreaterThanOrEqual(drain - 5);
    expect(app.output()).toMatch(/cut 1 request/);
  });

  it('warns at startup when enableShutdownHooks() is missing, and leaves SIGTERM to kill the process', async () => {
    const { app } = await startApp({ HOOKS: '0' });
    running = app;
    await app.waitForLine(/enableShutdownHooks/, 4_000).catch(() => undefined);
    expect(app.output()).toMatch(/No SIGTERM\/SIGINT listener found: call app\.enableShutdownHooks\(\)/);
    const signalAt = performance.now();
    process.kill(app.pid, 'SIGTERM');
    const exit = await app.waitForExit(2_000);
    // The library added no handler of its own: Node's default action ends the process at once.
    expect(exit.signal).toBe('SIGTERM');
    expect(exit.at - signalAt).toBeLessThan(1_000);
    expect(app.lines().some((l) => l.startsWith('METRICS'))).toBe(false);
  });
});
