/**
 * A real Nest HTTP app whose route calls a real upstream HTTP server on 127.0.0.1 through
 * CircuitBreakerService, with `fetch(url, { signal })`. Real time, small timeouts, bounded counts.
 */
import { Controller, Get, HttpException, INestApplication, Module, Query } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { CircuitBreakerService } from '../../src/circuit-breaker/circuit-breaker.service';
import { isCircuitOpenError, isTimeoutError } from '../../src/core/common/errors';
import { ReliabilityModule } from '../../src/reliability.module';

type Mode = 'ok' | '503' | '404' | 'hang';

/** The upstream: answers as `mode` says and records what it saw. */
class Upstream {
  mode: Mode = 'ok';
  hits = 0;
  aborted = 0;
  readonly server: Server;

  constructor() {
    this.server = createServer((_req: IncomingMessage, res: ServerResponse) => {
      this.hits++;
      if (this.mode === 'hang') {
        // A request the client gives up on shows as the socket closing before we answered.
        res.on('close', () => {
          if (!res.writableEnded) this.aborted++;
        });
        return;
      }
      const status = this.mode === 'ok' ? 200 : Number(this.mode);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status }));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }
}

const upstream = new Upstream();

class UpstreamError extends Error {
  constructor(readonly status: number) {
    super(`upstream answered ${status}`);
  }
}

@Controller()
class ProxyController {
  constructor(private readonly breaker: CircuitBreakerService) {}

  @Get('proxy')
  async proxy(@Query('circuit') circuit = 'upstream'): Promise<unknown> {
    try {
      return await this.breaker.execute(circuit, async (signal) => {
        const res = await fetch(upstream.url, { signal });
        if (!res.ok) throw new UpstreamError(res.status);
        return res.json();
      });
    } catch (error) {
      if (isCircuitOpenError(error)) throw new HttpException({ circuit: error.state }, 503);
      if (isTimeoutError(error)) throw new HttpException('upstream timed out', 504);
      if (error instanceof UpstreamError)
        throw new HttpException('upstream failed', error.status === 404 ? 404 : 502);
      throw error;
    }
  }

  @Get('cached')
  cached(): Promise<unknown> {
    return this.breaker.execute(
      'upstream',
      async (signal) => {
        const res = await fetch(upstream.url, { signal });
        if (!res.ok) throw new UpstreamError(res.status);
        return res.json();
      },
      () => ({ status: 'from cache' }),
    );
  }
}

describe('CircuitBreakerService in an HTTP app (e2e)', () => {
  let app: INestApplication;
  let breaker: CircuitBreakerService;

  beforeAll(async () => {
    await new Promise<void>((resolve) => upstream.server.listen(0, '127.0.0.1', resolve));
    @Module({
      imports: [
        ReliabilityModule.forRoot({
          env: {
            CIRCUIT_BREAKER_VOLUME_THRESHOLD: '4',
            CIRCUIT_BREAKER_FAILURE_THRESHOLD: '0.5',
            CIRCUIT_BREAKER_RESET_TIMEOUT: '10000',
            CIRCUIT_BREAKER_TIMEOUT: '200',
          },
          circuits: { 'quick-reset': { resetTimeout: 300 } },
        }),
      ],
      controllers: [ProxyController],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    breaker = app.get(CircuitBreakerService);
  });

  afterAll(async () => {
    await app.close();
    upstream.server.closeAllConnections();
    await new Promise((resolve) => upstream.server.close(resolve));
  });

  beforeEach(() => {
    breaker.reset('upstream');
    breaker.reset('quick-reset');
    upstream.mode = 'ok';
    upstream.hits = 0;
    upstream.aborted = 0;
  });

  it('opens after failures, then answers at once without calling upstream', async () => {
    upstream.mode = '503';
    for (let i = 0; i < 4; i++) await request(app.getHttpServer()).get('/proxy').expect(502);
    expect(breaker.getState('upstream')).toBe('OPEN');
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      await request(app.getHttpServer()).get('/proxy').expect(503, { circuit: 'OPEN' });
    }
    expect(upstream.hits).toBe(4);
    expect(performance.now() - started).toBeLessThan(2_000);
    await request(app.getHttpServer()).get('/cached').expect(200, { status: 'from cache' });
  });

  it('half-opens after resetTimeout and closes on a good probe', async () => {
    upstream.mode = '503';
    for (let i = 0; i < 4; i++) await request(app.getHttpServer()).get('/proxy?circuit=quick-reset');
    expect(breaker.getState('quick-reset')).toBe('OPEN');
    upstream.mode = 'ok';
    await request(app.getHttpServer()).get('/proxy?circuit=quick-reset').expect(503);
    await new Promise((resolve) => setTimeout(resolve, 350));
    await request(app.getHttpServer()).get('/proxy?circuit=quick-reset').expect(200, { status: 200 });
    expect(breaker.getState('quick-reset')).toBe('CLOSED');
    expect(upstream.hits).toBe(5);
  });

  it('times out a hanging upstream and aborts the request itself', async () => {
    upstream.mode = 'hang';
    const started = performance.now();
    await request(app.getHttpServer()).get('/proxy').expect(504);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(2_000);
    // The abort closed the upstream socket: the work stopped, not just the wait.
    for (let i = 0; i < 50 && upstream.aborted === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(upstream.aborted).toBe(1);
    expect(breaker.getCircuitMetrics('upstream')).toMatchObject({ timeouts: 1, failures: 1, inFlight: 0 });
  });

  it('passes an upstream 404 through without counting it', async () => {
    upstream.mode = '404';
    for (let i = 0; i < 10; i++) await request(app.getHttpServer()).get('/proxy').expect(404);
    expect(breaker.getState('upstream')).toBe('CLOSED');
    expect(breaker.getCircuitMetrics('upstream')).toMatchObject({ failures: 0 });
    expect(breaker.getCircuitMetrics('upstream')?.totals.ignored).toBe(10);
  });
});
