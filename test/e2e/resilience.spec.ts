import {
  BadRequestException,
  Controller,
  Get,
  Header,
  HttpCode,
  INestApplication,
  InternalServerErrorException,
  Logger,
  MessageEvent,
  Module,
  Post,
  Put,
  Req,
  Res,
  ServiceUnavailableException,
  Sse,
} from '@nestjs/common';
import { interval, Observable, of } from 'rxjs';
import { map, take } from 'rxjs/operators';
import request from 'supertest';
import { CircuitBreakerService } from '../../src/circuit-breaker/circuit-breaker.service';
import {
  ResilienceInterceptor,
  ResilienceSignal,
  UseResilience,
  type ResilienceFallbackContext,
} from '../../src/resilience';
import { RetryService } from '../../src/retry/retry.service';
import { RESILIENCE_ADAPTERS, sleep, startResilienceApp, type AdapterName } from '../support/resilience-app';

/** Small, jitter-free delays keep the retries fast and the counts exact. */
const QUICK_RETRY = { maxAttempts: 3, baseDelay: 2, maxDelay: 5, jitter: 'none' as const, budget: false };

/** What the test handlers saw; reset before each test. */
const seen = {
  calls: new Map<string, number>(),
  aborted: false,
  signalOnRequest: false,
  unsubscribed: false,
  fallbackContext: undefined as ResilienceFallbackContext | undefined,
  fallbackError: undefined as unknown,
  tripMode: 'fail' as 'fail' | 'ok',
  script: [] as Array<'ok' | 'fail' | 'slow' | 'bad-request'>,
};

function count(key: string): number {
  const n = (seen.calls.get(key) ?? 0) + 1;
  seen.calls.set(key, n);
  return n;
}

function calls(key: string): number {
  return seen.calls.get(key) ?? 0;
}

@Controller('r')
class ResilientController {
  @Get('fallback')
  @UseResilience({ fallbackResponse: { items: [], stale: true } })
  failing(): never {
    count('fallback');
    throw new Error('connect ECONNREFUSED db.internal:5432 password=hunter2');
  }

  @Post('fallback-fn')
  @UseResilience({
    fallback: (error, context) => {
      seen.fallbackError = error;
      seen.fallbackContext = context;
      return Promise.resolve({ degraded: true });
    },
    fallbackStatus: 203,
  })
  failingPost(): never {
    throw new InternalServerErrorException('stack and secrets');
  }

  @Get('flaky')
  @UseResilience({ retry: QUICK_RETRY })
  flaky(): { calls: number } {
    const n = count('flaky');
    if (n < 3) throw new ServiceUnavailableException('upstream busy');
    return { calls: n };
  }

  @Post('flaky')
  @UseResilience({ retry: QUICK_RETRY })
  flakyPost(): { calls: number } {
    const n = count('flaky-post');
    if (n < 3) throw new ServiceUnavailableException('upstream busy');
    return { calls: n };
  }

  @Post('flaky-allowed')
  @UseResilience({ retry: QUICK_RETRY, retryNonIdempotent: true })
  flakyAllowed(): { calls: number } {
    const n = count('flaky-allowed');
    if (n < 2) throw new ServiceUnavailableException('upstream busy');
    return { calls: n };
  }

  @Put('client-error')
  @UseResilience({ retry: QUICK_RETRY, fallbackResponse: 'never for a 4xx' })
  clientError(): never {
    count('client-error');
    throw new BadRequestException({ message: 'name is required', field: 'name' });
  }

  @Get('slow')
  @UseResilience({ timeoutMs: 100, enableCircuitBreaker: false })
  slow(
    @ResilienceSignal() signal: AbortSignal,
    @Req() req: { resilienceSignal?: AbortSignal },
  ): Promise<string> {
    seen.signalOnRequest = req.resilienceSignal === signal;
    return new Promise((resolve) => {
      signal.addEventListener('abort', () => {
        seen.aborted = true;
        resolve('too late');
      });
    });
  }

  @Get('slow-observable')
  @UseResilience({ timeoutMs: 50 })
  slowObservable(): Observable<string> {
    return new Observable<string>(() => () => {
      seen.unsubscribed = true;
    });
  }

  @Get('total')
  @UseResilience({
    totalTimeoutMs: 120,
    retry: { ...QUICK_RETRY, maxAttempts: 50, baseDelay: 30, maxDelay: 30 },
  })
  alwaysFailing(): never {
    count('total');
    throw new Error('still down');
  }

  /** An upstream that asks for 30 s, under a 5 s total timeout: not worth waiting for. */
  @Get('retry-after-past-total')
  @UseResilience({
    totalTimeoutMs: 5_000,
    retry: { ...RetryService.PresetConfigs.HTTP, name: 'retry-after-past-total' },
  })
  upstreamAsksForLater(): never {
    count('retry-after-past-total');
    throw Object.assign(new ServiceUnavailableException('upstream overloaded'), {
      headers: { 'retry-after': '30' },
    });
  }

  @Get('trip')
  @UseResilience({ circuitName: 'trip' })
  trip(): string {
    count('trip');
    if (seen.tripMode === 'fail') throw new Error('dependency down');
    return 'ok';
  }

  @Get('kinds/value')
  @UseResilience({ timeoutMs: 1_000 })
  plainValue(): { kind: string } {
    return { kind: 'value' };
  }

  @Get('kinds/promise')
  @UseResilience({ timeoutMs: 1_000 })
  async promised(): Promise<{ kind: string }> {
    return { kind: 'promise' };
  }

  @Get('kinds/observable')
  @UseResilience({ timeoutMs: 1_000 })
  observed(): Observable<{ kind: string }> {
    return of({ kind: 'first' }, { kind: 'observable' });
  }

  @Get('script')
  @UseResilience({
    circuitName: 'script',
    retry: { maxAttempts: 2, baseDelay: 1, maxDelay: 1, jitter: 'none', budget: false },
    timeoutMs: 80,
    fallbackResponse: { fallback: true },
    circuit: { volumeThreshold: 1_000 },
  })
  scripted(@ResilienceSignal() signal: AbortSignal): Promise<string> {
    count('script');
    const step = seen.script.shift();
    if (step === 'ok') return Promise.resolve('ok');
    if (step === 'bad-request') return Promise.reject(new BadRequestException());
    if (step === 'slow')
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve('late')));
    return Promise.reject(new Error('scripted failure'));
  }

  @Get('timed')
  @UseResilience({ circuitName: 'timed' })
  timed(@ResilienceSignal() signal: AbortSignal): Promise<string> {
    count('timed');
    return new Promise((resolve) =>
      signal.addEventListener('abort', () => {
        seen.aborted = true;
        resolve('late');
      }),
    );
  }

  @Sse('events')
  @UseResilience({ retry: QUICK_RETRY, timeoutMs: 10 })
  events(): Observable<MessageEvent> {
    return interval(20).pipe(
      take(2),
      map((i) => ({ data: { i } })),
    );
  }

  @Get('manual')
  @UseResilience({ timeoutMs: 1_000 })
  manual(@Res() res: { status(code: number): { send(body: string): void } }): void {
    res.status(200).send('written by hand');
  }
}

@Controller('c')
@UseResilience({ fallbackResponse: 'class fallback', timeoutMs: 50, enableCircuitBreaker: false })
class ClassLevelController {
  @Get('inherits')
  inherits(): never {
    throw new Error('x');
  }

  @Get('overrides')
  @UseResilience({ fallbackResponse: 'method fallback' })
  overrides(): never {
    throw new Error('x');
  }

  @Get('slow-inherited')
  slowInherited(): Promise<string> {
    return sleep(150).then(() => 'slow');
  }

  @Get('slow-overridden')
  @UseResilience({ timeoutMs: 0 })
  slowOverridden(): Promise<string> {
    return sleep(120).then(() => 'finished');
  }

  @Post('status')
  @HttpCode(202)
  @UseResilience({ fallbackStatus: 299 })
  status(): never {
    throw new Error('x');
  }
}

@Controller('plain')
class PlainController {
  @Get()
  @Header('X-Custom', 'kept')
  hello(@Req() req: { resilienceSignal?: unknown }): { hello: string; signal: boolean } {
    return { hello: 'world', signal: req.resilienceSignal !== undefined };
  }

  @Post()
  create(): { created: boolean } {
    count('plain-post');
    return { created: true };
  }

  @Get('error')
  error(): never {
    count('plain-error');
    throw new ServiceUnavailableException('plain failure');
  }
}

@Controller('twice')
@UseResilience({ retry: QUICK_RETRY, circuitName: 'twice', enableCircuitBreaker: false })
class TwiceController {
  @Get()
  @UseResilience({ fallbackResponse: 'served once' })
  failing(): never {
    count('twice');
    throw new Error('down');
  }
}

@Controller('feature')
class FeatureController {
  @Get()
  @UseResilience({ fallbackResponse: 'from a feature module' })
  failing(): never {
    throw new Error('down');
  }
}

/** A module that does not import ReliabilityModule: the module is global. */
@Module({ controllers: [FeatureController] })
class FeatureModule {}

const CONTROLLERS = [ResilientController, ClassLevelController, PlainController, TwiceController];
const RESET_MS = 300;

describe.each(RESILIENCE_ADAPTERS)('@UseResilience over %s', (adapter: AdapterName) => {
  let app: INestApplication;
  let url: string;
  let warnings: string[];
  let interceptor: ResilienceInterceptor;

  beforeAll(async () => {
    warnings = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
    ({ app, url } = await startResilienceApp(
      adapter,
      CONTROLLERS,
      {
        circuits: {
          trip: { volumeThreshold: 2, failureThreshold: 0.5, resetTimeout: RESET_MS },
          timed: { timeout: 80, volumeThreshold: 100 },
        },
      },
      [FeatureModule],
    ));
    interceptor = app.get(ResilienceInterceptor);
  });

  afterAll(async () => {
    await app?.close();
    jest.restoreAllMocks();
  });

  beforeEach(() => {
    seen.calls.clear();
    seen.aborted = false;
    seen.signalOnRequest = false;
    seen.unsubscribed = false;
    seen.fallbackContext = undefined;
    seen.fallbackError = undefined;
  });

  describe('fallback', () => {
    it('serves fallbackResponse with 200, without the internal message or stack', async () => {
      const res = await request(url).get('/r/fallback').expect(200);
      expect(res.body).toEqual({ items: [], stale: true });
      expect(res.text).not.toMatch(/ECONNREFUSED|hunter2|at /);
      expect(calls('fallback')).toBe(1);
    });

    it('serves fallback(error, context) with fallbackStatus, for a 5xx HttpException', async () => {
      const res = await request(url).post('/r/fallback-fn').expect(203);
      expect(res.body).toEqual({ degraded: true });
      expect(res.text).not.toContain('secrets');
      expect(seen.fallbackError).toBeInstanceOf(InternalServerErrorException);
      expect(seen.fallbackContext).toMatchObject({
        name: 'ResilientController.failingPost',
        reason: 'error',
        attempts: 1,
      });
      expect(seen.fallbackContext?.executionContext.getHandler()).toBe(
        ResilientController.prototype.failingPost,
      );
    });

    it("passes the handler's own 4xx through unchanged: no retry, no fallback", async () => {
      const res = await request(url).put('/r/client-error').expect(400);
      expect(res.body).toEqual({ message: 'name is required', field: 'name' });
      expect(calls('client-error')).toBe(1);
    });
  });

  describe('retry', () => {
    it('re-runs the handler from a fresh next.handle() on each attempt', async () => {
      const res = await request(url).get('/r/flaky').expect(200);
      expect(res.body).toEqual({ calls: 3 });
      expect(calls('flaky')).toBe(3);
    });

    it('does not retry a POST, and warned about it once at startup', async () => {
      const res = await request(url).post('/r/flaky').expect(503);
      expect(res.body.message).toBe('upstream busy');
      expect(calls('flaky-post')).toBe(1);
      expect(warnings.filter((w) => w.includes('ResilientController.flakyPost'))).toHaveLength(1);
      expect(warnings.filter((w) => w.includes('ResilientController.flakyAllowed'))).toHaveLength(0);
      expect(warnings.filter((w) => w.includes('ResilientController.failingPost'))).toHaveLength(0);
    });

    it('retries a POST with retryNonIdempotent', async () => {
      await request(url).post('/r/flaky-allowed').expect(201, { calls: 2 });
      expect(calls('flaky-allowed')).toBe(2);
    });
  });

  describe('timeouts', () => {
    it('answers 504 within timeoutMs plus a small margin, and aborts the handler signal', async () => {
      const started = Date.now();
      const res = await request(url).get('/r/slow').expect(504);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(95);
      expect(elapsed).toBeLessThan(100 + 150);
      expect(res.body).toEqual({ statusCode: 504, message: 'Gateway Timeout' });
      expect(seen.aborted).toBe(true);
      expect(seen.signalOnRequest).toBe(true);
    });

    it('unsubscribes an Observable handler on timeout', async () => {
      await request(url).get('/r/slow-observable').expect(504);
      expect(seen.unsubscribed).toBe(true);
    });

    it('stops retries and backoffs within totalTimeoutMs: the last error once no retry fits', async () => {
      const started = Date.now();
      await request(url).get('/r/total').expect(500);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeLessThan(120 + 150);
      // 30 ms between attempts: about four fit in 120 ms, far from the 50 allowed.
      expect(calls('total')).toBeGreaterThanOrEqual(2);
      expect(calls('total')).toBeLessThanOrEqual(6);
      await sleep(80);
      expect(calls('total')).toBeLessThanOrEqual(6);
    });

    it("answers at once with the upstream's 503 when its Retry-After ends after totalTimeoutMs", async () => {
      const started = Date.now();
      await request(url).get('/r/retry-after-past-total').expect(503);
      // Not a 504 after sleeping 5 s into the total timeout.
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(calls('retry-after-past-total')).toBe(1);
    });
  });

  describe('circuit breaker', () => {
    it('trips: 503 with Retry-After without calling the handler, then recovers after the reset', async () => {
      seen.tripMode = 'fail';
      await request(url).get('/r/trip').expect(500);
      await request(url).get('/r/trip').expect(500);
      expect(calls('trip')).toBe(2);
      for (let i = 0; i < 3; i++) {
        const res = await request(url).get('/r/trip').expect(503);
        expect(res.headers['retry-after']).toBe('1');
        expect(res.body).toEqual({ statusCode: 503, message: 'Service Unavailable' });
      }
      expect(calls('trip')).toBe(2);
      const metrics = interceptor.getResilienceMetrics('trip')!;
      expect(metrics).toMatchObject({ requests: 5, failures: 5, circuitRejections: 3, successes: 0 });

      seen.tripMode = 'ok';
      await sleep(RESET_MS + 50);
      await request(url).get('/r/trip').expect(200, 'ok');
      await request(url).get('/r/trip').expect(200, 'ok');
      expect(calls('trip')).toBe(4);
      expect(app.get(CircuitBreakerService).getCircuitMetrics('trip')?.state).toBe('CLOSED');
    });
  });

  describe('class and method options', () => {
    it("applies the class's options to every route and lets a method override them", async () => {
      await request(url).get('/c/inherits').expect(200, 'class fallback');
      await request(url).get('/c/overrides').expect(200, 'method fallback');
      // Inherited timeoutMs: 50, so the fallback answers before the 150 ms handler.
      await request(url).get('/c/slow-inherited').expect(200, 'class fallback');
      await request(url).get('/c/slow-overridden').expect(200, 'finished');
      await request(url).post('/c/status').expect(299, 'class fallback');
      expect(Object.keys(interceptor.getAllResilienceMetrics())).toEqual(
        expect.arrayContaining(['ClassLevelController.inherits', 'ClassLevelController.overrides']),
      );
    });
  });

  describe('wiring', () => {
    it('runs one pipeline when both the class and the method carry @UseResilience', async () => {
      await request(url).get('/twice').expect(200, 'served once');
      // The class's retry (3 attempts) applies once, not once inside each attempt (9).
      expect(calls('twice')).toBe(3);
      expect(interceptor.getResilienceMetrics('twice')).toMatchObject({
        requests: 1,
        retries: 2,
        fallbacks: 1,
      });
    });

    it('works in a feature module that does not import ReliabilityModule', async () => {
      await request(url).get('/feature').expect(200, 'from a feature module');
    });

    it("uses a forRoot circuit timeout as the attempt timeout, aborting the handler's signal", async () => {
      const started = Date.now();
      await request(url).get('/r/timed').expect(504);
      expect(Date.now() - started).toBeLessThan(80 + 150);
      expect(seen.aborted).toBe(true);
      expect(interceptor.getResilienceMetrics('timed')).toMatchObject({
        requests: 1,
        timeouts: 1,
        failures: 1,
      });
      expect(app.get(CircuitBreakerService).getCircuitMetrics('timed')?.totals.timeouts).toBe(1);
    });
  });

  describe('handlers', () => {
    it('accepts a value, a Promise or an Observable (its last value)', async () => {
      await request(url).get('/r/kinds/value').expect(200, { kind: 'value' });
      await request(url).get('/r/kinds/promise').expect(200, { kind: 'promise' });
      await request(url).get('/r/kinds/observable').expect(200, { kind: 'observable' });
    });

    it('passes SSE and @Res() routes through, with one warning each at startup', async () => {
      const sse = await request(url)
        .get('/r/events')
        .buffer(true)
        .parse((res, done) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => done(null, text));
        });
      expect(sse.status).toBe(200);
      expect(sse.body).toContain('data: {"i":0}');
      expect(sse.body).toContain('data: {"i":1}');
      await request(url).get('/r/manual').expect(200, 'written by hand');
      expect(warnings.filter((w) => w.includes('ResilientController.events'))).toHaveLength(1);
      expect(warnings.filter((w) => w.includes('ResilientController.manual'))).toHaveLength(1);
      const names = Object.keys(interceptor.getAllResilienceMetrics());
      expect(names).not.toContain('ResilientController.events');
      expect(names).not.toContain('ResilientController.manual');
    });
  });

  describe('metrics', () => {
    it('are exact after a scripted sequence', async () => {
      interceptor.resetResilienceMetrics('script');
      // One entry per handler call.
      seen.script = ['ok', 'fail', 'ok', 'bad-request', 'fail', 'fail', 'slow', 'ok'];
      await request(url).get('/r/script').expect(200, 'ok');
      await request(url).get('/r/script').expect(200, 'ok');
      await request(url).get('/r/script').expect(400);
      await request(url).get('/r/script').expect(200, { fallback: true });
      await request(url).get('/r/script').expect(200, 'ok');
      expect(calls('script')).toBe(8);
      const metrics = interceptor.getAllResilienceMetrics().script;
      expect(metrics).toMatchObject({
        name: 'script',
        routes: ['ResilientController.scripted'],
        requests: 5,
        successes: 3,
        failures: 1,
        clientErrors: 1,
        fallbacks: 1,
        timeouts: 1,
        retries: 3,
        circuitRejections: 0,
      });
      expect(metrics.latency.count).toBe(5);
      // The slow attempt alone took the 80 ms timeout.
      expect(metrics.latency.p99).toBeGreaterThanOrEqual(75);
      expect(metrics.latency.p50).toBeLessThan(75);
    });
  });

  describe('routes without @UseResilience', () => {
    it('get no metrics entry and no request signal', async () => {
      const res = await request(url).get('/plain').expect(200);
      expect(res.body).toEqual({ hello: 'world', signal: false });
      const names = Object.keys(interceptor.getAllResilienceMetrics());
      expect(names.some((n) => n.startsWith('PlainController'))).toBe(false);
    });

    it('answer exactly as in an app without ReliabilityModule', async () => {
      const bare = await startResilienceApp(adapter, [PlainController], false);
      try {
        for (const [method, path] of [
          ['get', '/plain'],
          ['post', '/plain'],
          ['get', '/plain/error'],
        ] as const) {
          const withModule = await request(url)[method](path);
          const without = await request(bare.url)[method](path);
          expect(withModule.status).toBe(without.status);
          expect(withModule.text).toBe(without.text);
          const headers = (h: Record<string, string>) => {
            const { date: _date, ...rest } = h;
            return rest;
          };
          expect(headers(withModule.headers)).toEqual(headers(without.headers));
        }
        // Not retried, even though a 503 is retryable.
        expect(calls('plain-error')).toBe(2);
      } finally {
        await bare.app.close();
      }
    });
  });
});
