/**
 * The opt-in health endpoints on a real Nest HTTP app (Express and Fastify), and the terminus
 * indicators inside a real @nestjs/terminus health check.
 */
import 'reflect-metadata';
import { Controller, Get, INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Agent } from 'node:http';
import {
  CircuitBreakerService,
  ReliabilityHealthIndicator,
  ReliabilityHealthService,
  ReliabilityModule,
} from '../../src';
import { Outcome, get, sleep } from '../support/shutdown-load';

@Controller()
class TerminusController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly reliability: ReliabilityHealthIndicator,
  ) {}

  @Get('terminus')
  @HealthCheck()
  check() {
    return this.health.check([() => this.reliability.shutdown(), () => this.reliability.readiness()]);
  }
}

async function start(module: object, adapter: string): Promise<{ app: INestApplication; port: number }> {
  const app =
    adapter === 'fastify'
      ? await NestFactory.create(module as never, new FastifyAdapter(), { logger: false })
      : await NestFactory.create(module as never, { logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, port: app.getHttpServer().address().port };
}

const json = (o: Outcome): unknown => JSON.parse(o.body!);

/** The whole JSON body (the load helper keeps only its first 500 characters). */
async function fetchJson(port: number, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
}

describe.each(['express', 'fastify'])('health endpoints (%s)', (adapter) => {
  let app: INestApplication | undefined;
  let agent: Agent;
  beforeEach(() => (agent = new Agent({ keepAlive: true })));
  afterEach(async () => {
    agent.destroy();
    await app?.close();
    app = undefined;
  });

  it('GET /health/live and /health/ready answer 200 with per-check JSON, never cached', async () => {
    @Module({ imports: [ReliabilityModule.forRoot({ health: { path: '/health' } })] })
    class AppModule {}
    const started = await start(AppModule, adapter);
    app = started.app;
    const live = await get(started.port, '/health/live', agent);
    const ready = await get(started.port, '/health/ready', agent);
    expect(live.status).toBe(200);
    expect(json(live)).toMatchObject({
      status: 'ok',
      checks: { process: { status: 'up', phase: 'RUNNING' } },
    });
    expect(ready.status).toBe(200);
    expect(json(ready)).toEqual({ status: 'ok', checks: { shutdown: { status: 'up', phase: 'RUNNING' } } });
    expect(ready.headers?.['cache-control']).toBe('no-store');
    expect(live.headers?.['cache-control']).toBe('no-store');
  });

  it('readiness is 503 with the detail during the shutdown grace period; liveness stays 200', async () => {
    @Module({
      imports: [
        ReliabilityModule.forRoot({
          health: { path: '/health' },
          shutdown: { graceOnClose: true, healthGracePeriod: 300 },
        }),
      ],
    })
    class AppModule {}
    const started = await start(AppModule, adapter);
    app = started.app;
    const closing = app.close();
    await sleep(30);
    const ready = await get(started.port, '/health/ready', agent);
    const live = await get(started.port, '/health/live', agent);
    await closing;
    app = undefined;
    expect(ready.status).toBe(503);
    expect(json(ready)).toEqual({
      status: 'error',
      checks: { shutdown: { status: 'down', phase: 'GRACE' } },
    });
    expect(live.status).toBe(200);
  });

  it('forRootAsync mounts the endpoints at a custom path', async () => {
    @Module({
      imports: [
        ReliabilityModule.forRootAsync({
          useFactory: async () => ({}),
          health: { path: '/internal/status' },
        }),
      ],
    })
    class AppModule {}
    const started = await start(AppModule, adapter);
    app = started.app;
    expect((await get(started.port, '/internal/status/ready', agent)).status).toBe(200);
    expect((await get(started.port, '/health/ready', agent)).status).toBe(404);
    // Readable by other code too.
    expect(await app.get(ReliabilityHealthService).getHealth()).toMatchObject({ live: true, ready: true });
  });

  it('terminus users: the indicators make a terminus check 503 during shutdown', async () => {
    @Module({
      imports: [
        TerminusModule,
        ReliabilityModule.forRoot({ shutdown: { graceOnClose: true, healthGracePeriod: 300 } }),
      ],
      controllers: [TerminusController],
    })
    class AppModule {}
    const started = await start(AppModule, adapter);
    app = started.app;
    const before = await get(started.port, '/terminus', agent);
    expect(before.status).toBe(200);
    expect(json(before)).toMatchObject({ status: 'ok', info: { shutdown: { status: 'up' } } });
    const closing = app.close();
    await sleep(30);
    const during = await get(started.port, '/terminus', agent);
    await closing;
    app = undefined;
    expect(during.status).toBe(503);
    expect(json(during)).toMatchObject({
      status: 'error',
      error: { shutdown: { status: 'down', phase: 'GRACE' }, reliability: { status: 'down' } },
    });
  });

  it('readiness is 503 while a critical circuit is open (the real CircuitBreakerService)', async () => {
    @Module({ imports: [ReliabilityModule.forRoot({ health: { criticalCircuits: ['payments'] } })] })
    class AppModule {}
    const started = await start(AppModule, adapter);
    app = started.app;
    expect((await get(started.port, '/health/ready', agent)).status).toBe(200);
    app.get(CircuitBreakerService).open('payments');
    const open = await get(started.port, '/health/ready', agent);
    expect(open.status).toBe(503);
    expect(json(open)).toEqual({
      status: 'error',
      checks: {
        shutdown: { status: 'up', phase: 'RUNNING' },
        'circuit:payments': { status: 'down', state: 'OPEN' },
      },
    });
    app.get(CircuitBreakerService).close('payments');
    expect((await get(started.port, '/health/ready', agent)).status).toBe(200);
  });

  it('custom checks: shown under their names; passing, throwing, false and timed-out checks', async () => {
    let desktopUp = true;
    let aborted = false;
    @Module({
      imports: [
        TerminusModule,
        ReliabilityModule.forRoot({
          health: {
            checks: {
              desktop: async () => desktopUp,
              llm: () => {
                if (!desktopUp) throw new Error('401 invalid x-api-key');
              },
              queue: {
                timeoutMs: 40,
                check: (signal) =>
                  new Promise<void>((resolve) => {
                    if (desktopUp) return resolve();
                    signal.addEventListener('abort', () => ((aborted = true), resolve()));
                  }),
              },
            },
          },
        }),
      ],
      controllers: [TerminusController],
    })
    class AppModule {}
    const started = await start(AppModule, adapter);
    app = started.app;
    const up = await fetchJson(started.port, '/health/ready');
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({
      status: 'ok',
      checks: {
        shutdown: { status: 'up' },
        desktop: { status: 'up' },
        llm: { status: 'up' },
        queue: { status: 'up' },
      },
    });
    desktopUp = false;
    const t0 = Date.now();
    const down = await fetchJson(started.port, '/health/ready');
    const took = Date.now() - t0;
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({
      status: 'error',
      checks: {
        shutdown: { status: 'up' },
        desktop: { status: 'down', error: 'the check returned false' },
        llm: { status: 'down', error: '401 invalid x-api-key' },
        queue: { status: 'down', error: '"queue health check" timed out after 40 ms' },
      },
    });
    expect(aborted).toBe(true);
    // Bounded by the longest timeout (40 ms), not by the hanging probe.
    expect(took).toBeLessThan(1000);
    // The terminus indicator reads the same checks.
    expect((await fetchJson(started.port, '/terminus')).body).toMatchObject({
      status: 'error',
      error: { reliability: { status: 'down', desktop: { status: 'down' } } },
    });
    desktopUp = true;
    expect((await fetchJson(started.port, '/health/ready')).status).toBe(200);
  });

  it('readiness runs the DatabaseService check when a database is configured', async () => {
    let healthy = true;
    const client = {
      $connect: async () => undefined,
      $disconnect: async () => undefined,
      $transaction: async () => undefined,
      $queryRawUnsafe: async () => {
        if (!healthy) throw Object.assign(new Error("Can't reach database server"), { code: 'P1001' });
        return [{ '?column?': 1 }];
      },
    };
    @Module({ imports: [ReliabilityModule.forRoot({ database: { client: () => client }, health: {} })] })
    class AppModule {}
    const started = await start(AppModule, adapter);
    app = started.app;
    const up = await get(started.port, '/health/ready', agent);
    expect(up.status).toBe(200);
    expect(json(up)).toMatchObject({ checks: { database: { status: 'up' } } });
    healthy = false;
    const down = await get(started.port, '/health/ready', agent);
    expect(down.status).toBe(503);
    expect(json(down)).toMatchObject({ status: 'error', checks: { database: { status: 'down' } } });
    expect((json(down) as any).checks.database.error).toMatch(/P1001|reach/);
  });
});
