/**
 * Which failures get a route's fallback, and how a fallback response is marked, over a real Nest
 * app on both adapters (issue 11; issue 10, defect 9).
 */
import {
  BadRequestException,
  Controller,
  Get,
  INestApplication,
  InternalServerErrorException,
  Param,
  ParseIntPipe,
} from '@nestjs/common';
import request from 'supertest';
import { CircuitBreakerService } from '../../src/circuit-breaker/circuit-breaker.service';
import { ResilienceInterceptor, UseResilience, type ResilienceFallbackContext } from '../../src/resilience';
import { RESILIENCE_ADAPTERS, startResilienceApp, type AdapterName } from '../support/resilience-app';

/** What an LLM SDK throws for a bad API key: an Error with a `status`, not an HttpException. */
class UpstreamApiError extends Error {
  constructor(readonly status: number) {
    super(`${status} {"type":"authentication_error","message":"invalid x-api-key"}`);
  }
}

const seen = { contexts: [] as ResilienceFallbackContext[] };
const FALLBACK = { summary: null, degraded: true };

/** A service with its own circuit, as a user would write it. */
let breakers: CircuitBreakerService;
const callInner = () =>
  breakers.execute('inner-llm', () => Promise.reject(new UpstreamApiError(503)), undefined, {
    volumeThreshold: 1,
    failureThreshold: 0.5,
    resetTimeout: 30_000,
  });

@Controller('fb')
class FallbackController {
  @Get('upstream-401')
  @UseResilience({ fallbackResponse: FALLBACK })
  upstream401(): Promise<never> {
    return Promise.reject(new UpstreamApiError(401));
  }

  @Get('upstream-401-bare')
  @UseResilience({})
  upstream401Bare(): Promise<never> {
    return Promise.reject(new UpstreamApiError(401));
  }

  @Get('own-400')
  @UseResilience({ fallbackResponse: FALLBACK })
  own400(): never {
    throw new BadRequestException({ message: 'name is required', field: 'name' });
  }

  @Get('validated/:id')
  @UseResilience({ fallbackResponse: FALLBACK })
  validated(@Param('id', ParseIntPipe) id: number): { id: number } {
    return { id };
  }

  @Get('fallback-if/:kind')
  @UseResilience({
    fallbackResponse: FALLBACK,
    fallbackIf: (error, context) => {
      seen.contexts.push(context);
      return error instanceof BadRequestException;
    },
  })
  fallbackIf(@Param('kind') kind: string): never {
    if (kind === 'own-400') throw new BadRequestException('served anyway');
    throw new InternalServerErrorException('let through');
  }

  @Get('timeout')
  @UseResilience({ timeoutMs: 30, fallbackResponse: FALLBACK, enableCircuitBreaker: false })
  timeout(): Promise<never> {
    return new Promise(() => undefined);
  }

  @Get('inner-open')
  @UseResilience({ fallback: (_error, context) => ({ reason: context.reason }) })
  innerOpen(): Promise<unknown> {
    return callInner();
  }

  @Get('inner-open-bare')
  @UseResilience({})
  innerOpenBare(): Promise<unknown> {
    return callInner();
  }

  @Get('renamed')
  @UseResilience({ fallbackResponse: FALLBACK, fallbackHeader: 'X-Served-From-Cache' })
  renamed(): never {
    throw new Error('down');
  }

  @Get('quiet')
  @UseResilience({ fallbackResponse: FALLBACK, fallbackHeader: false })
  quiet(): never {
    throw new Error('down');
  }
}

describe.each(RESILIENCE_ADAPTERS)('fallbacks over %s', (adapter: AdapterName) => {
  let app: INestApplication;
  let url: string;
  let interceptor: ResilienceInterceptor;

  beforeAll(async () => {
    ({ app, url } = await startResilienceApp(adapter, [FallbackController]));
    breakers = app.get(CircuitBreakerService);
    interceptor = app.get(ResilienceInterceptor);
  });

  afterAll(async () => {
    await app?.close();
  });

  beforeEach(() => {
    seen.contexts = [];
  });

  describe('which failures get the fallback', () => {
    it("a dependency's 401 gets the fallback, marked as one; it is the route's failure", async () => {
      const res = await request(url).get('/fb/upstream-401').expect(200);
      expect(res.body).toEqual(FALLBACK);
      expect(res.headers['x-resilience-fallback']).toBe('error');
      expect(interceptor.getResilienceMetrics('FallbackController.upstream401')).toMatchObject({
        failures: 1,
        clientErrors: 0,
        fallbacks: 1,
      });
    });

    it("without a fallback, a dependency's 401 passes unchanged (Nest: 500, not the client's 401)", async () => {
      const res = await request(url).get('/fb/upstream-401-bare').expect(500);
      expect(res.headers['x-resilience-fallback']).toBeUndefined();
    });

    it("the handler's own 4xx and a pipe's validation error pass through, unmarked", async () => {
      const own = await request(url).get('/fb/own-400').expect(400);
      expect(own.body).toEqual({ message: 'name is required', field: 'name' });
      expect(own.headers['x-resilience-fallback']).toBeUndefined();
      const invalid = await request(url).get('/fb/validated/abc').expect(400);
      expect(invalid.body.message).toMatch(/numeric string is expected/);
      expect(invalid.headers['x-resilience-fallback']).toBeUndefined();
    });

    it('fallbackIf replaces the rule both ways, with the name and the reason', async () => {
      const served = await request(url).get('/fb/fallback-if/own-400').expect(200);
      expect(served.body).toEqual(FALLBACK);
      expect(served.headers['x-resilience-fallback']).toBe('error');
      const through = await request(url).get('/fb/fallback-if/down').expect(500);
      expect(through.body.message).toBe('let through');
      expect(through.headers['x-resilience-fallback']).toBeUndefined();
      expect(seen.contexts.map(({ name, reason }) => ({ name, reason }))).toEqual([
        { name: 'FallbackController.fallbackIf', reason: 'error' },
        { name: 'FallbackController.fallbackIf', reason: 'error' },
      ]);
    });
  });

  describe('an open circuit the handler called', () => {
    it("is reason 'circuit-open', and 503 with its Retry-After without a fallback", async () => {
      // The inner circuit's first failure opens it (volumeThreshold 1).
      await request(url).get('/fb/inner-open-bare').expect(500);
      expect(breakers.getCircuitMetrics('inner-llm')?.state).toBe('OPEN');
      const bare = await request(url).get('/fb/inner-open-bare').expect(503);
      expect(Number(bare.headers['retry-after'])).toBeGreaterThan(25);
      expect(bare.body).toEqual({ statusCode: 503, message: 'Service Unavailable' });
      const served = await request(url).get('/fb/inner-open').expect(200);
      expect(served.body).toEqual({ reason: 'circuit-open' });
      expect(served.headers['x-resilience-fallback']).toBe('circuit-open');
      expect(interceptor.getResilienceMetrics('FallbackController.innerOpen')).toMatchObject({
        circuitRejections: 1,
        fallbacks: 1,
      });
    });
  });

  describe('the fallback header', () => {
    it("carries the reason: 'timeout'", async () => {
      const res = await request(url).get('/fb/timeout').expect(200);
      expect(res.headers['x-resilience-fallback']).toBe('timeout');
    });

    it('can be renamed or turned off per route', async () => {
      const renamed = await request(url).get('/fb/renamed').expect(200);
      expect(renamed.headers['x-served-from-cache']).toBe('error');
      expect(renamed.headers['x-resilience-fallback']).toBeUndefined();
      const quiet = await request(url).get('/fb/quiet').expect(200);
      expect(quiet.body).toEqual(FALLBACK);
      expect(quiet.headers['x-resilience-fallback']).toBeUndefined();
    });

    it('takes its module-wide name from forRoot({ resilience: { fallbackHeader } })', async () => {
      for (const [fallbackHeader, expected] of [
        ['X-Degraded', 'x-degraded'],
        [false, undefined],
      ] as const) {
        const other = await startResilienceApp(adapter, [FallbackController], {
          resilience: { fallbackHeader },
        });
        try {
          const res = await request(other.url).get('/fb/upstream-401').expect(200);
          if (expected !== undefined) expect(res.headers[expected]).toBe('error');
          expect(res.headers['x-resilience-fallback']).toBeUndefined();
          // A route's own option wins over the module's.
          const renamed = await request(other.url).get('/fb/renamed').expect(200);
          expect(renamed.headers['x-served-from-cache']).toBe('error');
        } finally {
          await other.app.close();
        }
      }
    });

    it('a bad header name stops bootstrap, naming the field and the value', async () => {
      await expect(
        startResilienceApp(adapter, [FallbackController], { resilience: { fallbackHeader: 'X Bad' } }),
      ).rejects.toThrow('resilience.fallbackHeader="X Bad": must be an HTTP header name');
    });
  });
});
