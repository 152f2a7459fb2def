/**
 * RetryService through a real Nest HTTP app: env given as strings to forRoot, a FakeClock under
 * RELIABILITY_CLOCK, a real upstream HTTP server on 127.0.0.1 answering 503 + Retry-After, and a
 * real undici `fetch failed` (ECONNREFUSED) against a closed loopback port.
 */
import { Controller, Get, HttpException, Inject, INestApplication, Module, Param } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { FakeClock } from '../../src/core/common/clock';
import { getRetryAttempts } from '../../src/core/retry/retry';
import { RELIABILITY_CLOCK } from '../../src/reliability.tokens';
import { ReliabilityModule } from '../../src/reliability.module';
import { RetryService } from '../../src/retry';

/** The error an SDK would throw for a non-2xx response: `status` plus the fetch `Headers`. */
class UpstreamError extends Error {
  constructor(
    readonly status: number,
    readonly headers: Headers,
  ) {
    super(`upstream answered ${status}`);
  }
}

const upstream = { url: '', closedUrl: '', hits: 0, failFirst: 0 };

@Controller()
class RetryController {
  private flakyCalls = 0;

  constructor(@Inject(RetryService) private readonly retry: RetryService) {}

  /** Fails `n` times with a 503 then succeeds, using the module defaults (no config). */
  @Get('flaky/:n')
  async flaky(@Param('n') n: string) {
    this.flakyCalls = 0;
    const value = await this.retry.executeWithRetry((attempt) => {
      this.flakyCalls++;
      if (attempt <= Number(n)) throw new HttpException('try later', 503);
      return { attempt };
    });
    return value;
  }

  /** Calls the real upstream with the HTTP preset; Retry-After comes from undici's real Headers. */
  @Get('upstream')
  async callUpstream() {
    return this.retry.executeWithRetry(
      async (_attempt, signal) => {
        const response = await fetch(upstream.url, { signal });
        if (!response.ok) throw new UpstreamError(response.status, response.headers);
        return response.json();
      },
      { ...RetryService.PresetConfigs.HTTP, name: 'upstream' },
    );
  }

  /** A real `TypeError: fetch failed` (ECONNREFUSED), retried by the HTTP preset until exhausted. */
  @Get('refused')
  async refused() {
    try {
      await this.retry.executeWithRetry(() => fetch(upstream.closedUrl), {
        ...RetryService.PresetConfigs.HTTP,
        baseDelay: 0,
        name: 'refused',
      });
      return { ok: true };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      return { message: (error as Error).message, code: cause?.code, attempts: getRetryAttempts(error) };
    }
  }

  @Get('metrics')
  metrics() {
    return this.retry.getAllRetryMetrics();
  }
}

const clock = new FakeClock();

@Module({
  imports: [
    ReliabilityModule.forRoot({
      env: {
        RETRY_MAX_ATTEMPTS: '4',
        RETRY_BASE_DELAY: '200',
        RETRY_MAX_DELAY: '1000',
        RETRY_JITTER: 'none',
      },
    }),
  ],
  controllers: [RetryController],
})
class AppModule {}

/** Runs a request to completion while moving the fake clock, so backoffs pass without real sleeps. */
async function drive<T>(pending: PromiseLike<T>, stepMs = 100): Promise<T> {
  let done = false;
  const result = Promise.resolve(pending).finally(() => {
    done = true;
  });
  for (let i = 0; i < 1_000 && !done; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    await clock.advance(stepMs);
  }
  return result;
}

describe('RetryService in a Nest app (e2e)', () => {
  let app: INestApplication;
  let server: Server;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      upstream.hits++;
      if (upstream.hits <= upstream.failFirst) {
        res
          .writeHead(503, { 'Retry-After': '2', 'content-type': 'application/json' })
          .end('{"error":"overloaded"}');
      } else {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ hits: upstream.hits }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    upstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    // A port that was just free: connecting to it is refused at once on loopback.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    upstream.closedUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/`;
    await new Promise((resolve) => probe.close(resolve));

    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(RELIABILITY_CLOCK)
      .useValue(clock)
      .compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('injects RetryService with the env defaults (RETRY_MAX_ATTEMPTS=4 from a string)', async () => {
    const ok = await drive(request(app.getHttpServer()).get('/flaky/3'));
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ attempt: 4 });
    const exhausted = await drive(request(app.getHttpServer()).get('/flaky/4'));
    expect(exhausted.status).toBe(503);
    const metrics = (await request(app.getHttpServer()).get('/metrics')).body;
    expect(metrics.default).toMatchObject({
      operations: 2,
      attempts: 8,
      successesAfterRetry: 1,
      exhaustions: 1,
      // 200 + 400 + 800 (capped at RETRY_MAX_DELAY=1000 after that), twice.
      totalDelayMs: 2 * (200 + 400 + 800),
    });
  });

  it('HTTP preset: waits the Retry-After of a real 503 response, then succeeds', async () => {
    upstream.hits = 0;
    upstream.failFirst = 2;
    const start = clock.now();
    const res = await drive(request(app.getHttpServer()).get('/upstream'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ hits: 3 });
    expect(clock.now() - start).toBeGreaterThanOrEqual(4_000);
    const metrics = (await request(app.getHttpServer()).get('/metrics')).body;
    expect(metrics.upstream).toMatchObject({
      operations: 1,
      attempts: 3,
      successesAfterRetry: 1,
      // 2 s twice, each plus its jitter: 0.5 (the fake clock's draw) x min(1 s, 10 % of 2 s).
      totalDelayMs: 4_200,
    });
  });

  it("HTTP preset: retries undici's real `fetch failed` (ECONNREFUSED) and rethrows it unchanged", async () => {
    const res = await drive(request(app.getHttpServer()).get('/refused'));
    expect(res.body).toEqual({ message: 'fetch failed', code: 'ECONNREFUSED', attempts: 4 });
  });
});
