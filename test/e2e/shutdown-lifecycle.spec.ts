/**
 * How the shutdown fits Nest's lifecycle: the drain comes before every other onModuleDestroy,
 * app.close() skips the grace period and is quick when idle, no listener or timer is left behind,
 * and a worker app (no HTTP server) shuts down the same way.
 */
import 'reflect-metadata';
import {
  Controller,
  Get,
  Global,
  INestApplication,
  Injectable,
  Module,
  OnModuleDestroy,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Agent } from 'node:http';
import { ReliabilityModule, ShutdownService } from '../../src';
import { FixtureProcess, metricsOf, startFixture } from '../support/shutdown-process';
import { get, sleep } from '../support/shutdown-load';

/** Records what an app provider saw when its onModuleDestroy ran. */
const seen: Array<{ who: string; inFlight: number; drainFinished: boolean }> = [];

@Injectable()
class RootPool implements OnModuleDestroy {
  constructor(private readonly shutdown: ShutdownService) {}
  onModuleDestroy(): void {
    const m = this.shutdown.getShutdownMetrics();
    seen.push({ who: 'root', inFlight: m.requests.inFlight, drainFinished: m.drainFinishedAt !== null });
  }
}

@Injectable()
class GlobalPool implements OnModuleDestroy {
  constructor(private readonly shutdown: ShutdownService) {}
  onModuleDestroy(): void {
    const m = this.shutdown.getShutdownMetrics();
    seen.push({ who: 'global', inFlight: m.requests.inFlight, drainFinished: m.drainFinishedAt !== null });
  }
}

@Global()
@Module({ providers: [GlobalPool], exports: [GlobalPool] })
class GlobalPoolModule {}

@Controller()
class SlowController {
  @Get('slow')
  async slow(): Promise<string> {
    await sleep(300);
    return 'done';
  }
}

function appModule(options: Parameters<typeof ReliabilityModule.forRoot>[0]) {
  @Module({
    imports: [GlobalPoolModule, ReliabilityModule.forRoot(options)],
    controllers: [SlowController],
    providers: [RootPool],
  })
  class AppModule {}
  return AppModule;
}

async function listen(app: INestApplication): Promise<number> {
  await app.listen(0, '127.0.0.1');
  return app.getHttpServer().address().port;
}

let running: FixtureProcess | undefined;
afterEach(() => running?.kill());

describe.each(['express', 'fastify'])('app.close() (%s)', (adapter) => {
  const create = (options: Parameters<typeof ReliabilityModule.forRoot>[0]) =>
    adapter === 'fastify'
      ? NestFactory.create(appModule(options), new FastifyAdapter(), { logger: false })
      : NestFactory.create(appModule(options), { logger: false });

  it('drains in-flight requests before any other onModuleDestroy, skipping the grace period', async () => {
    seen.length = 0;
    const app = await create({ shutdown: { healthGracePeriod: 5_000, drainTimeout: 3_000 } });
    const port = await listen(app);
    const agent = new Agent({ keepAlive: true });
    const slow = get(port, '/slow', agent);
    await sleep(50);
    const started = performance.now();
    await app.close();
    const closeMs = performance.now() - started;
    const result = await slow;
    agent.destroy();

    expect(result.status).toBe(200);
    expect(result.body).toBe('done');
    // Drained, with `Connection: close` on the response, before either pool was closed.
    expect(result.connection).toBe('close');
    expect(seen).toEqual([
      { who: 'root', inFlight: 0, drainFinished: true },
      { who: 'global', inFlight: 0, drainFinished: true },
    ]);
    // No 5 s grace on a programmatic close; the drain took the rest of the slow request.
    expect(closeMs).toBeLessThan(1_500);
    const m = app.get(ShutdownService).getShutdownMetrics();
    expect(m.trigger).toBe('close');
    expect(m.phaseStartedAt.GRACE).toBeNull();
    expect(m.requests.drained).toBe(1);
    expect(m.phase).toBe('STOPPED');
  });

  it('is quick when idle, even with an idle keep-alive connection open', async () => {
    const app = await create({});
    const port = await listen(app);
    const agent = new Agent({ keepAlive: true });
    expect((await get(port, '/health/live', agent)).status).toBe(404); // health is opt-in
    const started = performance.now();
    await app.close();
    const closeMs = performance.now() - started;
    agent.destroy();
    expect(closeMs).toBeLessThan(300);
  });
});

describe('SHUTDOWN_GRACE_ON_CLOSE', () => {
  it('app.close() waits the grace period with readiness 503, still serving', async () => {
    const app = await NestFactory.create(
      appModule({ shutdown: { graceOnClose: true, healthGracePeriod: 400 }, health: { path: '/health' } }),
      { logger: false },
    );
    const port = await listen(app);
    const agent = new Agent({ keepAlive: true });
    expect((await get(port, '/health/ready', agent)).status).toBe(200);
    const closing = app.close();
    await sleep(50);
    const ready = await get(port, '/health/ready', agent);
    const live = await get(port, '/health/live', agent);
    const slow = await get(port, '/slow', agent);
    await closing;
    agent.destroy();

    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body!)).toEqual({
      status: 'error',
      checks: { shutdown: { status: 'down', phase: 'GRACE' } },
    });
    expect(live.status).toBe(200);
    expect(slow.status).toBe(200);
    expect(slow.connection).not.toBe('close'); // grace: business as usual
  });
});

describe('no leaks', () => {
  it('the process exits by itself after app.close(), and listener counts do not grow across cycles', async () => {
    const child = startFixture('test/fixtures/shutdown-cycles/main.ts', { CYCLES: '5' });
    running = child;
    const exit = await child.waitForExit(20_000);
    expect(exit.code).toBe(0);
    const lines = child.lines();
    expect(lines).toContain('DONE');
    const baseline = JSON.parse(lines.find((l) => l.startsWith('BASELINE '))!.slice(9));
    const cycles = lines.filter((l) => l.startsWith('CYCLE ')).map((l) => JSON.parse(l.slice(6)));
    expect(cycles).toHaveLength(5);
    for (const c of cycles) {
      expect(c.status).toBe(200);
      expect(c.closed).toEqual(baseline);
      expect(c.phase).toBe('STOPPED');
      expect(c.trigger).toBe('close');
      expect(c.closeMs).toBeLessThan(300);
    }
    // While an app runs: Nest's SIGTERM listener plus the library's single observer.
    expect(cycles.map((c) => c.open.SIGTERM)).toEqual(cycles.map(() => baseline.SIGTERM + 2));
  });

  it('in this process too: repeated create / close leaves the listener counts as they were', async () => {
    const events = ['SIGTERM', 'SIGINT', 'newListener', 'removeListener'] as const;
    const count = () => events.map((e) => process.listenerCount(e));
    const before = count();
    for (let i = 0; i < 3; i++) {
      const app = await NestFactory.create(appModule({ health: {} }), { logger: false });
      app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
      await listen(app);
      await app.close();
    }
    expect(count()).toEqual(before);
  });
});

describe('worker app (no HTTP server)', () => {
  it('SIGTERM runs the cleanup tasks and the process ends', async () => {
    const child = startFixture('test/fixtures/shutdown-worker/main.ts', {
      SHUTDOWN_HEALTH_GRACE_PERIOD: '200',
      SHUTDOWN_FORCE_TIMEOUT: '5000',
    });
    running = child;
    await child.waitForLine(/^READY/, 20_000);
    const signalAt = performance.now();
    process.kill(child.pid, 'SIGTERM');
    const exit = await child.waitForExit(3_000);

    expect(exit.signal).toBe('SIGTERM');
    expect(exit.at - signalAt).toBeLessThan(2_000);
    expect(child.lines()).toContain('CONSUMER_STOPPED');
    const m = metricsOf(child);
    expect(m.signal).toBe('SIGTERM');
    expect(m.phaseStartedAt.DRAINING - m.phaseStartedAt.GRACE).toBeGreaterThanOrEqual(195);
    expect(m.tasks.map((t: { name: string; outcome: string }) => [t.name, t.outcome])).toEqual([
      ['consumer', 'ok'],
    ]);
    expect(m.requests).toEqual({ inFlight: 0, drained: 0, cut: 0, total: 0 });
  });
});
