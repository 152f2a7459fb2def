/**
 * A real app in a child process on a real port, keep-alive load, a real SIGTERM.
 * The client behaves like a load balancer: it watches /health/ready and stops sending new
 * requests once it turns 503. Nothing is retried, so any dropped request is a failure.
 */
import { Agent } from 'node:http';
import { FixtureProcess, metricsOf, startApp } from '../support/shutdown-process';
import { KeepAliveLoad, Outcome, get, pollStatus, sleep } from '../support/shutdown-load';

const GRACE = 300;
const DRAIN = 2_000;
const MARGIN = 2_000;
const TIMINGS = {
  SHUTDOWN_HEALTH_GRACE_PERIOD: String(GRACE),
  SHUTDOWN_DRAIN_TIMEOUT: String(DRAIN),
  SHUTDOWN_FORCE_TIMEOUT: '8000',
};

let running: FixtureProcess | undefined;
afterEach(() => running?.kill());

describe.each(['express', 'fastify'])('SIGTERM under keep-alive load (%s)', (adapter) => {
  it('drops nothing: readiness 503 during grace, in-flight requests complete, clean exit', async () => {
    const { app, port } = await startApp({ ...TIMINGS, ADAPTER: adapter });
    running = app;

    const load = new KeepAliveLoad(() => port, '/work?ms=15', 8, 20_000).start();
    await sleep(400);

    // Long requests in flight at the signal: they outlive the grace period and finish in the drain.
    const longAgent = new Agent({ keepAlive: true });
    const long = [1, 2, 3].map(() => get(port, '/work?ms=1200', longAgent));
    await sleep(100);

    const readiness: Outcome[] = [];
    let sawNotReady!: () => void;
    const notReady = new Promise<void>((r) => (sawNotReady = r));
    const stopPolling = pollStatus(port, '/health/ready', 15, (o) => {
      readiness.push(o);
      if (o.status === 503) sawNotReady();
    });
    await sleep(50);

    const signalAt = performance.now();
    const signalEpoch = Date.now();
    process.kill(app.pid, 'SIGTERM');

    await notReady;
    const notReadyAt = Date.now();
    // Still serving during grace: a request sent after readiness turned 503 succeeds.
    const duringGrace = await get(port, '/work?ms=0', load.agent);
    const report = await load.stop();
    await stopPolling();

    const longResults = await Promise.all(long);
    longAgent.destroy();
    const exit = await app.waitForExit(GRACE + DRAIN + MARGIN);
    const metrics = metricsOf(app);

    expect(report.failures).toEqual([]);
    expect(report.ok).toBeGreaterThan(50);
    expect(longResults.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(duringGrace.status).toBe(200);
    expect(duringGrace.at).toBeLessThan(metrics.phaseStartedAt.DRAINING);
    expect(notReadyAt - signalEpoch).toBeLessThan(GRACE);
    const first503 = readiness.find((o) => o.status === 503)!;
    expect(JSON.parse(first503.body!).checks.shutdown).toEqual({ status: 'down', phase: 'GRACE' });

    // Nest's shutdown hooks re-raise the signal once the app is closed: nothing may swallow it.
    expect(exit.signal).toBe('SIGTERM');
    expect(exit.at - signalAt).toBeLessThan(GRACE + DRAIN + MARGIN);

    expect(metrics.signal).toBe('SIGTERM');
    expect(metrics.trigger).toBe('signal');
    const p = metrics.phaseStartedAt;
    expect(p.DRAINING - p.GRACE).toBeGreaterThanOrEqual(GRACE - 5);
    expect(p.CLEANUP).toBeGreaterThanOrEqual(p.DRAINING);
    expect(metrics.requests.cut).toBe(0);
    expect(metrics.requests.drained).toBeGreaterThanOrEqual(3);
    expect(metrics.requests.inFlight).toBe(0);
    // The app's own onModuleDestroy (closing its "pool") ran after the long requests finished.
    const lines = app.lines();
    expect(lines.indexOf('POOL_CLOSED')).toBeGreaterThan(-1);
    process.stdout.write(
      `[shutdown-signal ${adapter}] ${report.sent} requests, ${report.failures.length} failed; ` +
        `503 after ${notReadyAt - signalEpoch} ms; exit ${Math.round(exit.at - signalAt)} ms after SIGTERM ` +
        `(${exit.code ?? exit.signal}); drained ${metrics.requests.drained}\n`,
    );
  });
});
