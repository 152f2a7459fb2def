/**
 * A rolling restart behind a real load balancer: nginx in front of two instances, keep-alive
 * load through nginx, each instance in turn gets SIGTERM and is started again. The client must
 * see no non-2xx response and no error. nginx has passive health only: when an instance stops
 * accepting connections during its drain, nginx gets "connection refused" and sends the request
 * to the other one (`proxy_next_upstream error`).
 */
import { FixtureProcess, startApp } from '../support/shutdown-process';
import { KeepAliveLoad, sleep } from '../support/shutdown-load';
import { freePort } from '../support/free-port';
import { Nginx, findNginx, startNginx } from '../support/shutdown-nginx';

const GRACE = 300;
const DRAIN = 2_000;
const TIMINGS = {
  SHUTDOWN_HEALTH_GRACE_PERIOD: String(GRACE),
  SHUTDOWN_DRAIN_TIMEOUT: String(DRAIN),
  SHUTDOWN_FORCE_TIMEOUT: '8000',
};

const nginx = findNginx();
if (!nginx.path) process.stdout.write(`[shutdown-rolling] SKIPPED: ${nginx.reason}\n`);
const itWithNginx = nginx.path ? it : it.skip;

const started: FixtureProcess[] = [];
let proxy: Nginx | undefined;
let load: KeepAliveLoad | undefined;
afterAll(async () => {
  await load?.stop();
  for (const p of started) p.kill();
  await proxy?.stop();
});

async function instance(port: number): Promise<FixtureProcess> {
  const { app } = await startApp({ ...TIMINGS, PORT: String(port) });
  started.push(app);
  return app;
}

/** Resolves once a response through nginx came from `pid`: nginx routes to it again. */
async function servedBy(load: KeepAliveLoad, pid: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!load.pids().has(pid)) {
    if (performance.now() > deadline)
      throw new Error(`nginx sent nothing to pid ${pid} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

describe('rolling restart behind nginx', () => {
  itWithNginx(
    'drops no request while both instances are restarted one after the other under load',
    async () => {
      const ports = [await freePort(), await freePort()];
      const instances = await Promise.all(ports.map((p) => instance(p)));
      proxy = await startNginx(nginx.path!, ports);
      // POST: nginx does not retry a request that reached an instance, so a request an instance
      // drops (reset, cut, closed keep-alive connection) reaches the client as a 502.
      load = new KeepAliveLoad(() => proxy!.port, '/work?ms=25', 16, 50_000, 'POST').start();
      await servedBy(load, instances[0].pid, 10_000);
      await servedBy(load, instances[1].pid, 10_000);
      await sleep(500);

      const rolls: Array<{ exit: string; ms: number; at: number }> = [];
      for (let i = 0; i < instances.length; i++) {
        const old = instances[i];
        const signalAt = performance.now();
        const signalEpoch = Date.now();
        process.kill(old.pid, 'SIGTERM');
        const exit = await old.waitForExit(GRACE + DRAIN + 2_000);
        rolls.push({
          exit: String(exit.code ?? exit.signal),
          ms: Math.round(exit.at - signalAt),
          at: signalEpoch,
        });
        expect(exit.signal).toBe('SIGTERM');
        instances[i] = await instance(ports[i]);
        await servedBy(load, instances[i].pid, 15_000);
        await sleep(500);
      }
      await sleep(300);
      const report = await load.stop();
      const served = [...load.pids().entries()].map(([pid, n]) => `${pid}:${n}`).join(' ');
      process.stdout.write(
        `[shutdown-rolling] ${report.sent} requests through nginx, ${report.failures.length} failed ` +
          `(statuses ${JSON.stringify(report.statuses)}); per process ${served}; ` +
          `exits ${rolls.map((r) => `${r.exit} after ${r.ms} ms`).join(', ')}\n`,
      );

      if (report.failures.length > 0) {
        // What nginx saw, and when each failure came relative to each SIGTERM, to tell why.
        const when = report.failures.map((f) => rolls.map((r) => `${f.at - r.at} ms`).join(' / '));
        process.stdout.write(`[shutdown-rolling] failures after each SIGTERM: ${when.join('; ')}\n`);
        process.stdout.write(`[shutdown-rolling] nginx error log:\n${proxy.errorLog().slice(-4_000)}\n`);
      }
      expect(report.failures).toEqual([]);
      expect(report.sent).toBeGreaterThan(500);
      expect(load.pids().size).toBe(4);
    },
    90_000,
  );
});
