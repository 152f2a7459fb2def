/**
 * Aborted attempts over a real Nest app: the route's total timeout and a client that goes away both
 * abort the attempt in flight, and the circuit must hear of it at once (issue 10, defect 1).
 */
import { Controller, Get, INestApplication } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import request from 'supertest';
import { CircuitBreakerService } from '../../src/circuit-breaker/circuit-breaker.service';
import { ResilienceInterceptor, ResilienceSignal, UseResilience } from '../../src/resilience';
import { RESILIENCE_ADAPTERS, startResilienceApp, type AdapterName } from '../support/resilience-app';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const seen = { entered: deferred(), aborted: deferred(), abortReason: undefined as unknown };

/** A dependency that never answers. */
const hang = () => new Promise<never>(() => undefined);

@Controller('hang')
class HangingController {
  @Get('total')
  @UseResilience({ circuitName: 'hang-total', totalTimeoutMs: 100, timeoutMs: 0, enableRetry: false })
  total(): Promise<never> {
    return hang();
  }

  @Get('default-timeout')
  @UseResilience({ circuitName: 'hang-default', totalTimeoutMs: 100 })
  defaultTimeout(): Promise<never> {
    return hang();
  }

  @Get('circuit-timed')
  @UseResilience({ circuitName: 'hang-timed', totalTimeoutMs: 100 })
  circuitTimed(): Promise<never> {
    return hang();
  }

  @Get('client')
  @UseResilience({ circuitName: 'hang-client', fallbackResponse: 'nobody reads this' })
  client(@ResilienceSignal() signal: AbortSignal): Promise<never> {
    signal.addEventListener('abort', () => {
      seen.abortReason = signal.reason;
      seen.aborted.resolve();
    });
    seen.entered.resolve();
    return hang();
  }
}

/** Lets the rejections of an aborted attempt reach the circuit (a few promise turns). */
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe.each(RESILIENCE_ADAPTERS)('aborted attempts over %s', (adapter: AdapterName) => {
  let app: INestApplication;
  let url: string;
  let breakers: CircuitBreakerService;
  let interceptor: ResilienceInterceptor;

  beforeAll(async () => {
    ({ app, url } = await startResilienceApp(adapter, [HangingController], {
      circuits: {
        'hang-total': { volumeThreshold: 2, failureThreshold: 0.5, resetTimeout: 60_000 },
        // A forRoot timeout: the breaker times the attempt itself.
        'hang-timed': { timeout: 60_000 },
      },
    }));
    breakers = app.get(CircuitBreakerService);
    interceptor = app.get(ResilienceInterceptor);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('totalTimeoutMs with timeoutMs: 0: each 504 is a failure of the circuit at once, and it opens', async () => {
    for (let i = 1; i <= 2; i++) {
      await request(url).get('/hang/total').expect(504);
      await flush();
      const m = breakers.getCircuitMetrics('hang-total')!;
      expect(m.inFlight).toBe(0);
      expect(m.failures).toBe(i);
    }
    expect(breakers.getCircuitMetrics('hang-total')!.state).toBe('OPEN');
    const res = await request(url).get('/hang/total').expect(503);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('totalTimeoutMs under the default 60 s attempt timeout: filed at once, counted once', async () => {
    await request(url).get('/hang/default-timeout').expect(504);
    await flush();
    const m = breakers.getCircuitMetrics('hang-default')!;
    expect(m).toMatchObject({ inFlight: 0, failures: 1 });
    expect(m.latency.max).toBeLessThan(1_000);
    expect(interceptor.getResilienceMetrics('hang-default')).toMatchObject({
      requests: 1,
      failures: 1,
      timeouts: 1,
    });
  });

  it('totalTimeoutMs under a forRoot circuit timeout (the breaker times the call): filed at once', async () => {
    await request(url).get('/hang/circuit-timed').expect(504);
    await flush();
    expect(breakers.getCircuitMetrics('hang-timed')).toMatchObject({ inFlight: 0, failures: 1 });
    expect(interceptor.getResilienceMetrics('hang-timed')).toMatchObject({ failures: 1, timeouts: 1 });
  });

  it('a client that goes away aborts the attempt: not counted by the circuit, no fallback', async () => {
    seen.entered = deferred();
    seen.aborted = deferred();
    const req = httpRequest(`${url}/hang/client`);
    req.on('error', () => undefined); // the socket we destroy
    req.end();
    await seen.entered.promise;
    req.destroy();
    await seen.aborted.promise;
    expect((seen.abortReason as DOMException).name).toBe('AbortError');
    await flush();
    await flush();
    const m = breakers.getCircuitMetrics('hang-client')!;
    expect(m).toMatchObject({ state: 'CLOSED', inFlight: 0, failures: 0 });
    expect(m.totals).toMatchObject({ ignored: 1, failures: 0 });
    expect(interceptor.getResilienceMetrics('hang-client')).toMatchObject({
      requests: 1,
      abandoned: 1,
      failures: 0,
      fallbacks: 0,
    });
  });
});
