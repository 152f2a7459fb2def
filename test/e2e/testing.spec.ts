/**
 * Testing an app that uses the library: a decorated controller compiled without ReliabilityModule
 * (it runs unprotected and warns once), and ReliabilityTestingModule, whose fake clock makes the
 * presets' backoffs, route timeouts and breaker reset timeouts pass without real waits. Real Nest
 * apps over HTTP (supertest), on both adapters.
 */
import {
  Controller,
  Get,
  INestApplication,
  Injectable,
  LoggerService,
  Module,
  Param,
  ServiceUnavailableException,
} from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import http from 'node:http';
import request from 'supertest';
import { CircuitBreakerService } from '../../src/circuit-breaker';
import { getRetryAttempts } from '../../src/core/retry/retry';
import type { ReliabilityConfig } from '../../src/config/reliability-config';
import { RELIABILITY_CLOCK, RELIABILITY_CONFIG } from '../../src/reliability.tokens';
import { ResilienceInterceptor, ResilienceSignal, UseResilience } from '../../src/resilience';
import { ReliabilityModule } from '../../src/reliability.module';
import { RetryService } from '../../src/retry';
import { ShutdownService } from '../../src/shutdown';
import { FakeClock, ReliabilityTestingModule } from '../../src/testing';
import { RESILIENCE_ADAPTERS } from '../support/resilience-app';

/** Collects what Nest logs, by level. */
class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

const calls: Record<string, number> = {};
const count = (key: string): number => (calls[key] = (calls[key] ?? 0) + 1);

@Controller('quotes')
@UseResilience({ timeoutMs: 50, retry: 'HTTP', fallbackResponse: { fallback: true } })
class QuotesController {
  @Get('fail/now')
  fail(): never {
    count('fail');
    throw new ServiceUnavailableException('upstream down');
  }

  @Get(':id')
  get(@Param('id') id: string, @ResilienceSignal() signal: AbortSignal) {
    count('get');
    return { id, aborted: signal.aborted };
  }
}

async function listen(app: INestApplication): Promise<string> {
  await app.listen(0, '127.0.0.1');
  return (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
}

describe('a @UseResilience controller without ReliabilityModule', () => {
  it('compiles, answers over HTTP unprotected on both adapters, and warns once', async () => {
    const logger = new CapturingLogger();
    for (const adapter of RESILIENCE_ADAPTERS) {
      const moduleRef = await Test.createTestingModule({ controllers: [QuotesController] })
        .setLogger(logger)
        .compile();
      const app =
        adapter === 'fastify'
          ? moduleRef.createNestApplication(new FastifyAdapter(), { logger })
          : moduleRef.createNestApplication({ logger });
      try {
        const url = await listen(app);
        calls.get = calls.fail = 0;
        const ok = await request(url).get('/quotes/7').expect(200);
        expect(ok.body).toEqual({ id: '7', aborted: false });
        // The handler's own 503 passes through: not retried, no fallback, no 504.
        await request(url).get('/quotes/fail/now').expect(503);
        expect(calls).toMatchObject({ get: 1, fail: 1 });
        expect(ok.headers['x-resilience-fallback']).toBeUndefined();
        expect(app.get(ResilienceInterceptor).getAllResilienceMetrics()).toEqual({});
      } finally {
        await app.close();
      }
    }
    const unprotected = logger.warnings.filter((w) => w.includes('run unprotected'));
    expect(unprotected).toHaveLength(1);
    expect(unprotected[0]).toMatch(/ReliabilityModule is not imported/);
  });
});

@Injectable()
class QuoteClient {
  failFirst = 3;
  attemptsAt: number[] = [];

  constructor(
    private readonly retry: RetryService,
    private readonly clock: FakeClock,
  ) {}

  /** The HTTP preset around an upstream that answers 503 `failFirst` times. */
  fetchQuote(): Promise<{ attempts: number }> {
    this.attemptsAt = [];
    return this.retry.executeWithRetry(
      async (attempt) => {
        this.attemptsAt.push(this.clock.now());
        if (attempt <= this.failFirst) throw Object.assign(new Error('overloaded'), { status: 503 });
        return { attempts: attempt };
      },
      { ...RetryService.PresetConfigs.HTTP, name: 'quotes-upstream' },
    );
  }
}

let upstreamDown = true;

@Controller('prices')
class PricesController {
  constructor(private readonly quotes: QuoteClient) {}

  @Get('quote')
  quote() {
    return this.quotes.fetchQuote();
  }

  @Get('route-retry')
  @UseResilience({ retry: 'HTTP', circuitName: 'prices-route' })
  routeRetry() {
    if (count('route-retry') <= 3) throw new ServiceUnavailableException('try later');
    return { ok: true };
  }

  @Get('circuit')
  @UseResilience({
    enableRetry: false,
    circuitName: 'prices-circuit',
    circuit: { volumeThreshold: 2, failureThreshold: 0.5, resetTimeout: 10_000 },
  })
  circuit() {
    count('circuit');
    if (upstreamDown) throw new ServiceUnavailableException('upstream down');
    return { ok: true };
  }

  @Get('slow')
  @UseResilience({ enableRetry: false, timeoutMs: 5_000, circuitName: 'prices-slow' })
  slow(@ResilienceSignal() signal: AbortSignal) {
    count('slow');
    return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
  }
}

describe.each(RESILIENCE_ADAPTERS)('ReliabilityTestingModule (%s)', (adapter) => {
  let app: INestApplication;
  let url: string;
  let clock: FakeClock;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ReliabilityTestingModule.forRoot()],
      controllers: [PricesController],
      providers: [QuoteClient],
    }).compile();
    app =
      adapter === 'fastify'
        ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
        : moduleRef.createNestApplication({ logger: false });
    url = await listen(app);
    clock = app.get(FakeClock);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('provides one FakeClock under FakeClock and RELIABILITY_CLOCK', () => {
    expect(clock).toBeInstanceOf(FakeClock);
    expect(app.get(RELIABILITY_CLOCK)).toBe(clock);
  });

  it('HTTP preset: retries three times, its backoffs on the fake clock with deterministic jitter', async () => {
    const client = app.get(QuoteClient);
    const realStart = performance.now();
    const result = await clock.advanceUntilSettled(client.fetchQuote());
    const realMs = performance.now() - realStart;
    expect(result).toEqual({ attempts: 4 });
    // Full jitter with random() = 0.5: half of 500, 1000 and 2000 ms, exactly.
    const gaps = client.attemptsAt.slice(1).map((t, i) => t - client.attemptsAt[i]);
    expect(gaps).toEqual([250, 500, 1_000]);
    // 1.75 s of backoffs took a few real milliseconds.
    expect(realMs).toBeLessThan(1_000);
    expect(app.get(RetryService).getRetryMetrics('quotes-upstream')).toMatchObject({
      attempts: 4,
      successesAfterRetry: 1,
      totalDelayMs: 1_750,
    });
  });

  it('HTTP preset exhausted: four attempts, then the last error unchanged', async () => {
    const client = app.get(QuoteClient);
    client.failFirst = 10;
    try {
      const error = await clock.advanceUntilSettled(client.fetchQuote()).catch((e: unknown) => e);
      expect((error as Error).message).toBe('overloaded');
      expect(getRetryAttempts(error)).toBe(4);
    } finally {
      client.failFirst = 3;
    }
  });

  it("a route's retry: 'HTTP' retries over HTTP without real waits", async () => {
    calls['route-retry'] = 0;
    const realStart = performance.now();
    const res = await clock.advanceUntilSettled(request(url).get('/prices/route-retry'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
    expect(calls['route-retry']).toBe(4);
    expect(performance.now() - realStart).toBeLessThan(2_000);
  });

  it('a circuit opens, then half-opens once the fake clock passes resetTimeout', async () => {
    const breakers = app.get(CircuitBreakerService);
    upstreamDown = true;
    calls.circuit = 0;
    await request(url).get('/prices/circuit').expect(503);
    await request(url).get('/prices/circuit').expect(503);
    expect(breakers.getState('prices-circuit')).toBe('OPEN');
    const rejected = await request(url).get('/prices/circuit').expect(503);
    expect(rejected.headers['retry-after']).toBe('10');
    expect(calls.circuit).toBe(2);

    await clock.advance(9_999);
    expect(breakers.getState('prices-circuit')).toBe('OPEN');
    await clock.advance(1);
    expect(breakers.getState('prices-circuit')).toBe('HALF_OPEN');

    upstreamDown = false;
    await request(url).get('/prices/circuit').expect(200);
    expect(calls.circuit).toBe(3);
    expect(breakers.getState('prices-circuit')).toBe('CLOSED');
  });

  it("a route's timeoutMs follows the fake clock", async () => {
    calls.slow = 0;
    const pending = request(url)
      .get('/prices/slow')
      .then((r) => r);
    // Wait (in real time) for the handler to start, then pass the timeout.
    while (calls.slow === 0) await new Promise((resolve) => setImmediate(resolve));
    await clock.advance(4_999);
    await clock.advance(1);
    const res = await pending;
    expect(res.status).toBe(504);
  });
});

describe('ReliabilityTestingModule.forRoot options', () => {
  const saved = process.env.RETRY_MAX_ATTEMPTS;
  afterEach(() => {
    if (saved === undefined) delete process.env.RETRY_MAX_ATTEMPTS;
    else process.env.RETRY_MAX_ATTEMPTS = saved;
  });

  it('uses the given clock, and reads no environment variable unless given `env`', async () => {
    process.env.RETRY_MAX_ATTEMPTS = '7';
    const clock = new FakeClock(0);
    const isolated = await Test.createTestingModule({
      imports: [ReliabilityTestingModule.forRoot({ clock, retry: { baseDelay: 10 } })],
    }).compile();
    try {
      expect(isolated.get(FakeClock)).toBe(clock);
      const config = isolated.get<ReliabilityConfig>(RELIABILITY_CONFIG);
      expect(config.retry).toMatchObject({ maxAttempts: 3, baseDelay: 10 });
    } finally {
      await isolated.close();
    }
    const fromEnv = await Test.createTestingModule({
      imports: [ReliabilityTestingModule.forRoot({ env: process.env })],
    }).compile();
    try {
      expect(fromEnv.get<ReliabilityConfig>(RELIABILITY_CONFIG).retry.maxAttempts).toBe(7);
    } finally {
      await fromEnv.close();
    }
  });
});

describe("a test of the app's own AppModule", () => {
  it('gets the fake clock with overrideProvider(RELIABILITY_CLOCK)', async () => {
    @Injectable()
    class Quotes {
      constructor(private readonly retry: RetryService) {}
      fetch(attempts: number[]): Promise<string> {
        return this.retry.executeWithRetry(
          async (attempt) => {
            attempts.push(attempt);
            if (attempt < 3) throw Object.assign(new Error('overloaded'), { status: 529 });
            return 'ok';
          },
          { maxAttempts: 3, baseDelay: 60_000, maxDelay: 60_000, jitter: 'none' },
        );
      }
    }
    @Module({ imports: [ReliabilityModule.forRoot()], providers: [Quotes] })
    class AppModule {}

    const clock = new FakeClock(0);
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(RELIABILITY_CLOCK)
      .useValue(clock)
      .compile();
    try {
      const attempts: number[] = [];
      const result = moduleRef.get(Quotes).fetch(attempts);
      await clock.advance(59_999);
      expect(attempts).toEqual([1]);
      await clock.advance(1);
      await clock.advance(60_000);
      await expect(result).resolves.toBe('ok');
      expect(attempts).toEqual([1, 2, 3]);
    } finally {
      await moduleRef.close();
    }
  });
});

describe.each(RESILIENCE_ADAPTERS)('ReliabilityTestingModule: shutdown by signal (%s)', (adapter) => {
  it("an idle keep-alive connection's linger (1 s) passes on the fake clock", async () => {
    @Controller('hello')
    class HelloController {
      @Get()
      get() {
        return { ok: true };
      }
    }
    const clock = new FakeClock(0);
    const moduleRef = await Test.createTestingModule({
      imports: [ReliabilityTestingModule.forRoot({ clock, shutdown: { healthGracePeriod: 0 } })],
      controllers: [HelloController],
    }).compile();
    const app =
      adapter === 'fastify'
        ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
        : moduleRef.createNestApplication({ logger: false });
    const url = new URL(await listen(app));
    const agent = new http.Agent({ keepAlive: true });
    // What enableShutdownHooks() adds; the library observes a signal only while the app listens to it.
    const appListener = (): void => undefined;
    process.on('SIGTERM', appListener);
    try {
      await new Promise<void>((resolve, reject) =>
        http
          .get({ host: url.hostname, port: url.port, path: '/hello', agent }, (res) => {
            res.resume();
            res.on('end', resolve);
          })
          .on('error', reject),
      );
      const shutdown = app.get(ShutdownService);
      const realStart = performance.now();
      process.emit('SIGTERM', 'SIGTERM');
      let closed = false;
      const closing = app.close().then(() => (closed = true));
      while (shutdown.getPhase() !== 'DRAINING') await new Promise((resolve) => setImmediate(resolve));
      await clock.advance(999);
      expect(closed).toBe(false);
      await clock.advance(1);
      await closing;
      expect(performance.now() - realStart).toBeLessThan(500);
      expect(clock.now()).toBe(1_000);
      expect(shutdown.getShutdownMetrics()).toMatchObject({
        phase: 'STOPPED',
        signal: 'SIGTERM',
        requests: { inFlight: 0, cut: 0, total: 1 },
      });
    } finally {
      process.off('SIGTERM', appListener);
      agent.destroy();
      await app.close();
    }
  });
});
