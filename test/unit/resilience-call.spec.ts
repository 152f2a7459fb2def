/**
 * The route pipeline on a fake clock, without an HTTP server: the real retry service and the
 * real core circuit breaker, a fake execution context, and a `next` whose every subscription
 * calls the handler again (as Nest's does).
 */
import {
  BadRequestException,
  GatewayTimeoutException,
  HttpException,
  InternalServerErrorException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { defer, from } from 'rxjs';
import { CircuitBreakerService } from '../../src/circuit-breaker/circuit-breaker.service';
import { CircuitBreakerRegistry } from '../../src/core/circuit-breaker/registry';
import { FakeClock } from '../../src/core/common/clock';
import { CircuitOpenError, isCircuitOpenError, isTimeoutError } from '../../src/core/common/errors';
import { RetryService } from '../../src/retry/retry.service';
import { RouteCall, RouteCallHost } from '../../src/resilience/resilience-call';
import {
  gatewayTimeout,
  retryAfterSeconds,
  serviceUnavailable,
} from '../../src/resilience/resilience-errors';
import { RouteMetricsRecord } from '../../src/resilience/resilience-metrics';
import type { ResilienceRoute } from '../../src/resilience/resilience-route';
import type { ResilienceFallbackContext } from '../../src/resilience/resilience.options';
import { resilienceSignalOf } from '../../src/resilience/resilience-signal.decorator';
import { isRetryableError } from '../../src/core/classification/retry-classification';
import { createRetryPolicy } from '../../src/core/retry/retry';
import { isUnretryable } from '../../src/resilience/resilience-errors';
import { RELIABILITY_CLOCK } from '../../src/reliability.tokens';
import { ReliabilityModule } from '../../src/reliability.module';

interface FakeResponse {
  headersSent: boolean;
  statusCode: number;
  headers: Record<string, string>;
}

function setup(overrides: Partial<ResilienceRoute> = {}, method = 'GET') {
  const clock = new FakeClock();
  const circuits = new CircuitBreakerRegistry({ clock });
  const retries = new RetryService(undefined, clock);
  const req: Record<string | symbol, unknown> = { method };
  const res: FakeResponse = { headersSent: false, statusCode: 200, headers: {} };
  const context = {
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
    getArgByIndex: (i: number) => [req, res][i],
    getHandler: () => setup,
    getClass: () => Object,
  } as any;
  const route: ResilienceRoute = {
    id: 'Test.route',
    name: 'test',
    breaker: true,
    circuitOptions: { timeout: 0 },
    circuitTimes: false,
    retry: undefined,
    retryScope: 'always',
    timeoutMs: 0,
    totalTimeoutMs: 0,
    fallback: undefined,
    fallbackIf: undefined,
    fallbackStatus: 200,
    fallbackHeader: 'X-Resilience-Fallback',
    metrics: new RouteMetricsRecord('test'),
    streamWarned: false,
    ...overrides,
  };
  const streamed = jest.fn();
  const host: RouteCallHost = {
    clock,
    executeInCircuit: (r, fn) =>
      circuits
        .getOrCreate(r.name, () => ({
          volumeThreshold: 2,
          resetTimeout: 5_000,
          ...r.circuitOptions,
          timeout: 0,
        }))
        .execute(fn as () => Promise<unknown>),
    executeWithRetry: (fn, config) => retries.executeWithRetry(fn, config),
    isHeadersSent: (response) => (response as FakeResponse).headersSent,
    setStatus: (response, status) => {
      (response as FakeResponse).statusCode = status;
    },
    setHeader: (response, name, value) => {
      (response as FakeResponse).headers[name] = value;
    },
    toHttpError: (error, reason) => {
      if (reason === 'timeout') return gatewayTimeout(error);
      if (reason === 'circuit-open' && isCircuitOpenError(error)) {
        res.headers['Retry-After'] = String(retryAfterSeconds(error));
        return serviceUnavailable(error);
      }
      return error;
    },
    onStreamed: streamed,
  };
  let handler: (signal: AbortSignal) => unknown = () => 'ok';
  const handle = jest.fn(() =>
    defer(() => from(Promise.resolve().then(() => handler(resilienceSignalOf(req))))),
  );
  const call = () => new RouteCall(host, route, context, { handle }).run();
  /** Starts a request and keeps its RouteCall, to unsubscribe it as Nest does when the client leaves. */
  const start = () => {
    const rc = new RouteCall(host, route, context, { handle });
    return { rc, outcome: rc.run().catch((e: unknown) => e) };
  };
  return {
    start,
    clock,
    circuits,
    route,
    res,
    req,
    handle,
    streamed,
    call,
    setHandler: (fn: (signal: AbortSignal) => unknown) => (handler = fn),
  };
}

const RETRY = {
  maxAttempts: 3,
  baseDelay: 10,
  maxDelay: 10,
  jitter: 'none' as const,
  budget: false as const,
};
const never = () => new Promise<never>(() => undefined);

describe('RouteCall', () => {
  it('passes a success through and counts it', async () => {
    const t = setup();
    await expect(t.call()).resolves.toBe('ok');
    expect(t.route.metrics.snapshot()).toMatchObject({ requests: 1, successes: 1, failures: 0 });
    expect(t.handle).toHaveBeenCalledTimes(1);
  });

  it('retries through the breaker, each attempt a fresh next.handle()', async () => {
    const t = setup({ retry: { ...RETRY, name: 'test' }, circuitOptions: { volumeThreshold: 100 } });
    let n = 0;
    t.setHandler(() => {
      if (++n < 3) throw new Error('transient');
      return 'third time';
    });
    const outcome = t.call();
    await t.clock.advance(20);
    await expect(outcome).resolves.toBe('third time');
    expect(t.handle).toHaveBeenCalledTimes(3);
    expect(t.route.metrics.retries).toBe(2);
    // Retry sits outside the breaker: the circuit saw every attempt.
    expect(t.circuits.get('test')!.metrics().totals).toMatchObject({ calls: 3, failures: 2, successes: 1 });
  });

  it('counts an attempt timeout as a circuit failure, aborts the signal, and answers 504', async () => {
    const t = setup({ timeoutMs: 100 });
    let signal: AbortSignal | undefined;
    t.setHandler((s) => {
      signal = s;
      return never();
    });
    const outcome = t.call().catch((e: unknown) => e);
    await t.clock.advance(100);
    const error = await outcome;
    expect(error).toBeInstanceOf(GatewayTimeoutException);
    expect(isTimeoutError((error as GatewayTimeoutException).cause)).toBe(true);
    expect(signal?.aborted).toBe(true);
    expect(t.circuits.get('test')!.metrics().totals.failures).toBe(1);
    expect(t.route.metrics.snapshot()).toMatchObject({ failures: 1, timeouts: 1 });
  });

  it('gives each attempt its own signal: a retried attempt starts unaborted', async () => {
    const t = setup({ timeoutMs: 50, retry: { ...RETRY, name: 'test' } });
    const signals: AbortSignal[] = [];
    t.setHandler((s) => {
      signals.push(s);
      return signals.length === 1 ? never() : 'second';
    });
    const outcome = t.call();
    await t.clock.advance(60);
    await expect(outcome).resolves.toBe('second');
    expect(signals.map((s) => s.aborted)).toEqual([true, false]);
  });

  it('stops within the total timeout, however many retries are left: with the last error once no retry fits', async () => {
    const t = setup({
      totalTimeoutMs: 35,
      retry: { ...RETRY, maxAttempts: 100, name: 'test' },
      breaker: false,
    });
    t.setHandler(() => {
      throw new Error('down');
    });
    const start = t.clock.now();
    let settledAt = -1;
    const outcome = t.call().catch((e: unknown) => ((settledAt = t.clock.now() - start), e));
    await t.clock.advance(35);
    // At 30 ms the next backoff (10 ms) would end after the total timeout: no sleep into a 504.
    expect(await outcome).toMatchObject({ message: 'down' });
    expect(settledAt).toBe(30);
    const handled = t.handle.mock.calls.length;
    expect(handled).toBe(4); // at 0, 10, 20 and 30 ms
    await t.clock.advance(1_000);
    expect(t.handle).toHaveBeenCalledTimes(handled);
  });

  it('answers 504 at the total timeout when an attempt is still running then', async () => {
    const t = setup({
      totalTimeoutMs: 35,
      retry: { ...RETRY, maxAttempts: 100, name: 'test' },
      breaker: false,
    });
    t.setHandler(never);
    const outcome = t.call().catch((e: unknown) => e);
    await t.clock.advance(35);
    expect(await outcome).toBeInstanceOf(GatewayTimeoutException);
  });

  it('answers at once with the upstream error when its Retry-After ends after the total timeout', async () => {
    const t = setup({
      totalTimeoutMs: 5_000,
      retry: { ...RetryService.PresetConfigs.HTTP, name: 'test' },
    });
    const upstream = Object.assign(new Error('upstream 503'), {
      status: 503,
      headers: { 'retry-after': '30' },
    });
    t.setHandler(() => {
      throw upstream;
    });
    const outcome = t.call().catch((e: unknown) => e);
    await t.clock.advance(0);
    expect(await outcome).toBe(upstream);
    expect(t.handle).toHaveBeenCalledTimes(1);
    expect(t.route.metrics.timeouts).toBe(0);
    await t.clock.advance(31_000);
    expect(t.handle).toHaveBeenCalledTimes(1);
  });

  it('rejects with 503 and Retry-After once the circuit is open, without calling the handler', async () => {
    const t = setup();
    t.setHandler(() => {
      throw new Error('down');
    });
    await expect(t.call()).rejects.toThrow('down');
    await expect(t.call()).rejects.toThrow('down');
    await t.clock.advance(1_200);
    const error = await t.call().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableException);
    expect(t.res.headers['Retry-After']).toBe('4'); // ceil(3800 / 1000)
    expect(t.handle).toHaveBeenCalledTimes(2);
    expect(t.route.metrics.snapshot()).toMatchObject({ requests: 3, failures: 3, circuitRejections: 1 });
  });

  it('serves the fallback on an open circuit, with the reason and the status', async () => {
    const fallback = jest.fn(() => ({ cached: true }));
    const t = setup({ fallback, fallbackStatus: 203 });
    t.setHandler(() => {
      throw new Error('down');
    });
    await t.call();
    await t.call();
    await expect(t.call()).resolves.toEqual({ cached: true });
    expect(fallback).toHaveBeenLastCalledWith(
      expect.objectContaining({ circuit: 'test' }),
      expect.objectContaining({ name: 'test', reason: 'circuit-open', attempts: 0 }),
    );
    expect(t.res.statusCode).toBe(203);
    expect(t.route.metrics.snapshot()).toMatchObject({ fallbacks: 3, circuitRejections: 1 });
  });

  it('neither retries nor replaces a failure once the response has started', async () => {
    const fallback = jest.fn(() => 'replacement');
    const retryIf = (e: unknown) => !isUnretryable(e) && isRetryableError(e);
    const t = setup({ fallback, retry: { ...RETRY, name: 'test', retryIf } });
    const boom = new Error('mid-stream');
    t.setHandler(() => {
      t.res.headersSent = true;
      throw boom;
    });
    await expect(t.call()).rejects.toBe(boom);
    expect(t.handle).toHaveBeenCalledTimes(1);
    expect(fallback).not.toHaveBeenCalled();
    expect(t.streamed).toHaveBeenCalledTimes(1);
  });

  it('retries an @All() route only for idempotent request methods', async () => {
    for (const [method, expected] of [
      ['GET', 2],
      ['POST', 1],
    ] as const) {
      const t = setup(
        { retry: { ...RETRY, maxAttempts: 2, name: 'test' }, retryScope: 'idempotent-requests' },
        method,
      );
      t.setHandler(() => {
        throw new Error('transient');
      });
      const outcome = t.call().catch(() => undefined);
      await t.clock.advance(10);
      await outcome;
      expect(t.handle).toHaveBeenCalledTimes(expected);
    }
  });

  it('aborts the current attempt when Nest unsubscribes early', async () => {
    const t = setup();
    let signal: AbortSignal | undefined;
    t.setHandler((s) => {
      signal = s;
      return never();
    });
    const route = t.route;
    const context = { getArgByIndex: (i: number) => [t.req, t.res][i] } as any;
    const call = new RouteCall(
      {
        ...({} as RouteCallHost),
        clock: t.clock,
        executeInCircuit: (_r, fn) => (fn as () => Promise<unknown>)(),
      } as RouteCallHost,
      route,
      context,
      { handle: t.handle },
    );
    const outcome = call.run().catch((e: unknown) => e);
    await t.clock.advance(0);
    call.unsubscribe();
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as DOMException).name).toBe('AbortError');
    expect(await outcome).toMatchObject({ status: 499 });
  });
});

/** An SDK's error for an upstream 401: a plain error with a `status`, not an HttpException. */
function upstream401(): Error {
  return Object.assign(new Error('401 invalid x-api-key'), { status: 401 });
}

// Regression (issue 11): a dependency's error with a 4xx `status` was taken for the client's own
// error, so it skipped the fallback and reached the client as a 500.
describe('RouteCall: which failures get the fallback', () => {
  const fallback = jest.fn((_error: unknown, _context: unknown) => 'fallback body');
  beforeEach(() => fallback.mockClear());

  it("serves the fallback for a dependency's 4xx, counted as a failure", async () => {
    const t = setup({ fallback });
    t.setHandler(() => Promise.reject(upstream401()));
    await expect(t.call()).resolves.toBe('fallback body');
    expect(t.route.metrics.snapshot()).toMatchObject({ failures: 1, clientErrors: 0, fallbacks: 1 });
    expect(t.res.headers['X-Resilience-Fallback']).toBe('error');
  });

  it("passes the handler's own HttpException 4xx through unchanged, without the header", async () => {
    const t = setup({ fallback });
    const own = new BadRequestException('name is required');
    t.setHandler(() => Promise.reject(own));
    await expect(t.call()).rejects.toBe(own);
    expect(fallback).not.toHaveBeenCalled();
    expect(t.res.headers).toEqual({});
    expect(t.route.metrics.snapshot()).toMatchObject({ failures: 0, clientErrors: 1, fallbacks: 0 });
  });

  it("fallbackIf returning true serves the fallback even for the handler's own 4xx", async () => {
    const fallbackIf = jest.fn((_error: unknown, _context: ResilienceFallbackContext) => true);
    const t = setup({ fallback, fallbackIf });
    t.setHandler(() => Promise.reject(new BadRequestException()));
    await expect(t.call()).resolves.toBe('fallback body');
    expect(fallbackIf).toHaveBeenCalledWith(
      expect.any(BadRequestException),
      expect.objectContaining({ name: 'test', reason: 'error', attempts: 1 }),
    );
    expect(t.route.metrics.snapshot()).toMatchObject({ clientErrors: 1, fallbacks: 1 });
  });

  it('fallbackIf returning false lets the error through, mapped as without a fallback', async () => {
    const fallbackIf = jest.fn((_error: unknown, _context: ResilienceFallbackContext) => false);
    const t = setup({ fallback, fallbackIf, timeoutMs: 50 });
    const down = new InternalServerErrorException('down');
    t.setHandler(() => Promise.reject(down));
    await expect(t.call()).rejects.toBe(down);
    t.setHandler(never);
    const outcome = t.call().catch((e: unknown) => e);
    await t.clock.advance(50);
    expect(await outcome).toBeInstanceOf(GatewayTimeoutException);
    expect(fallbackIf.mock.calls.map(([, context]) => context.reason)).toEqual(['error', 'timeout']);
    expect(fallback).not.toHaveBeenCalled();
    expect(t.res.headers).toEqual({});
  });

  it("marks the fallback response with its reason, under the route's header name or none", async () => {
    const t = setup({ fallback, timeoutMs: 50, fallbackHeader: 'X-Served-From-Cache' });
    t.setHandler(never);
    const outcome = t.call();
    await t.clock.advance(50);
    await expect(outcome).resolves.toBe('fallback body');
    expect(t.res.headers).toEqual({ 'X-Served-From-Cache': 'timeout' });

    const quiet = setup({ fallback, fallbackHeader: undefined });
    quiet.setHandler(() => Promise.reject(new Error('down')));
    await expect(quiet.call()).resolves.toBe('fallback body');
    expect(quiet.res.headers).toEqual({});
  });
});

// Regression (issue 10, defect 9): a CircuitOpenError of the circuit a handler called was an 'error'.
describe("RouteCall: an open circuit the handler called (a dependency's)", () => {
  const innerOpen = () => new CircuitOpenError('anthropic', 'OPEN', 2_500);

  it("answers 503 with the inner circuit's Retry-After when there is no fallback", async () => {
    const t = setup();
    t.setHandler(() => Promise.reject(innerOpen()));
    const error = await t.call().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableException);
    expect(t.res.headers['Retry-After']).toBe('3');
    expect(t.route.metrics.snapshot()).toMatchObject({ failures: 1, circuitRejections: 1 });
  });

  it("serves the fallback with reason 'circuit-open'", async () => {
    const fallback = jest.fn(() => 'cached');
    const t = setup({ fallback });
    t.setHandler(() => Promise.reject(innerOpen()));
    await expect(t.call()).resolves.toBe('cached');
    expect(fallback).toHaveBeenCalledWith(
      expect.objectContaining({ circuit: 'anthropic' }),
      expect.objectContaining({ name: 'test', reason: 'circuit-open', attempts: 1 }),
    );
    expect(t.res.headers['X-Resilience-Fallback']).toBe('circuit-open');
  });
});

// Regression (issue 10, defect 1): an aborted attempt settled never, so the breaker awaiting it kept
// it in flight for ever (timeoutMs: 0) or filed it when the attempt timeout passed (60 s later).
describe('RouteCall: an aborted attempt settles at once', () => {
  const flush = () => new Promise((resolve) => setImmediate(resolve));

  it('totalTimeoutMs with no attempt timeout: each request is a circuit failure, and the circuit opens', async () => {
    const t = setup({ totalTimeoutMs: 100, timeoutMs: 0 });
    t.setHandler(never);
    for (let i = 0; i < 2; i++) {
      const { outcome } = t.start();
      await t.clock.advance(100);
      expect(await outcome).toBeInstanceOf(GatewayTimeoutException);
      await flush();
      const m = t.circuits.get('test')!.metrics();
      expect(m.inFlight).toBe(0);
      expect(m.failures).toBe(i + 1); // in the window
    }
    expect(t.circuits.get('test')!.metrics().state).toBe('OPEN');
    expect(await t.start().outcome).toBeInstanceOf(ServiceUnavailableException);
    expect(t.handle).toHaveBeenCalledTimes(2);
  });

  it('totalTimeoutMs under a longer attempt timeout: filed at the total timeout, one route timeout', async () => {
    const t = setup({ totalTimeoutMs: 1_000, timeoutMs: 60_000 });
    t.setHandler(never);
    const { outcome } = t.start();
    await t.clock.advance(1_000);
    expect(await outcome).toBeInstanceOf(GatewayTimeoutException);
    await flush();
    let m = t.circuits.get('test')!.metrics();
    expect(m).toMatchObject({ inFlight: 0, failures: 1 });
    expect(m.latency.max).toBeLessThanOrEqual(1_000);
    expect(t.route.metrics.snapshot()).toMatchObject({ timeouts: 1, failures: 1 });
    await t.clock.advance(60_000);
    m = t.circuits.get('test')!.metrics();
    expect(m.totals.failures).toBe(1);
    expect(t.route.metrics.snapshot()).toMatchObject({ timeouts: 1, failures: 1 });
  });

  it('a client that went away: not counted by the circuit, no timeout later, no fallback', async () => {
    const fallback = jest.fn(() => 'nobody reads this');
    const t = setup({ timeoutMs: 60_000, fallback });
    t.setHandler(never);
    for (let i = 0; i < 5; i++) {
      const { rc, outcome } = t.start();
      await t.clock.advance(10);
      rc.unsubscribe();
      expect(await outcome).toMatchObject({ status: 499 });
    }
    await flush();
    let m = t.circuits.get('test')!.metrics();
    expect(m).toMatchObject({ state: 'CLOSED', inFlight: 0, failures: 0 });
    expect(m.totals).toMatchObject({ ignored: 5, failures: 0 });
    await t.clock.advance(60_000);
    m = t.circuits.get('test')!.metrics();
    expect(m).toMatchObject({ state: 'CLOSED', inFlight: 0, failures: 0 });
    expect(t.route.metrics.snapshot()).toMatchObject({
      requests: 5,
      abandoned: 5,
      failures: 0,
      timeouts: 0,
      fallbacks: 0,
    });
    expect(fallback).not.toHaveBeenCalled();
  });

  it('a client gone during a backoff: no further attempt, and the circuit files none', async () => {
    const t = setup({ retry: { ...RETRY, name: 'test' }, circuitOptions: { volumeThreshold: 100 } });
    t.setHandler(() => {
      throw new Error('transient');
    });
    const { rc, outcome } = t.start();
    await t.clock.advance(0);
    expect(t.handle).toHaveBeenCalledTimes(1);
    rc.unsubscribe();
    await t.clock.advance(100);
    expect(await outcome).toMatchObject({ status: 499 });
    expect(t.handle).toHaveBeenCalledTimes(1);
    expect(t.circuits.get('test')!.metrics().totals).toMatchObject({ calls: 1, failures: 1, ignored: 0 });
  });

  async function openThenProbe(t: ReturnType<typeof setup>) {
    let n = 0;
    t.setHandler(() => {
      if (++n <= 2) throw new Error('down');
      return never();
    });
    await t.start().outcome;
    await t.start().outcome;
    expect(t.circuits.get('test')!.metrics().state).toBe('OPEN');
    await t.clock.advance(5_000);
    const probe = t.start();
    await t.clock.advance(0);
    expect(t.handle).toHaveBeenCalledTimes(3);
    return probe;
  }

  it('a probe hung past totalTimeoutMs fails at once and re-opens the circuit', async () => {
    const t = setup({ totalTimeoutMs: 100 });
    const probe = await openThenProbe(t);
    await t.clock.advance(100);
    expect(await probe.outcome).toBeInstanceOf(GatewayTimeoutException);
    await flush();
    const m = t.circuits.get('test')!.metrics();
    expect(m).toMatchObject({ state: 'OPEN', inFlight: 0 });
    expect(m.lastStateChange?.reason).toBe('probe-failed');
  });

  it('a probe whose client went away gives its slot back: the next request is the probe', async () => {
    const t = setup();
    const probe = await openThenProbe(t);
    probe.rc.unsubscribe();
    await probe.outcome;
    await flush();
    expect(t.circuits.get('test')!.metrics()).toMatchObject({ state: 'HALF_OPEN', inFlight: 0 });
    t.setHandler(() => 'recovered');
    await expect(t.start().outcome).resolves.toBe('recovered');
    expect(t.circuits.get('test')!.metrics().state).toBe('CLOSED');
  });
});

// Regression (review): a late value from an attempt that the retry's attemptTimeout gave up on must not
// become the answer of the attempt that replaced it.
describe('RouteCall: a late value from a timed-out attempt', () => {
  async function runWith(delays: number[]) {
    const { Observable } = await import('rxjs');
    const { RouteCall } = await import('../../src/resilience/resilience-call');
    const { RetryService } = await import('../../src/retry/retry.service');
    const { FakeClock } = await import('../../src/core/common/clock');
    const clock = new FakeClock();
    const retries = new RetryService(undefined, clock);
    const host: any = {
      clock,
      executeWithRetry: (fn: any, c: any) => retries.executeWithRetry(fn, c),
      executeInCircuit: () => {
        throw new Error('no breaker on this route');
      },
      isHeadersSent: () => false,
      setStatus: () => undefined,
      toHttpError: (e: unknown) => e,
      onStreamed: () => undefined,
    };
    const metrics: any = {
      requests: 0,
      successes: 0,
      failures: 0,
      retries: 0,
      timeouts: 0,
      clientErrors: 0,
      circuitRejections: 0,
      fallbacks: 0,
      latency: { record: () => undefined },
    };
    const route: any = {
      id: 'C.m',
      name: 'C.m',
      breaker: false,
      circuitTimes: false,
      retryScope: 'always',
      retry: { name: 'C.m', maxAttempts: delays.length, baseDelay: 0, attemptTimeout: 100, budget: false },
      timeoutMs: 0,
      totalTimeoutMs: 0,
      fallback: undefined,
      fallbackStatus: 200,
      metrics,
    };
    let calls = 0;
    const handler = {
      handle: () =>
        new Observable<string>((s) => {
          const k = ++calls;
          const timer = clock.setTimer(
            () => {
              s.next(`attempt ${k}`);
              s.complete();
            },
            delays[k - 1],
          );
          return () => clock.clearTimer(timer);
        }),
    };
    const context: any = { getArgByIndex: (i: number) => (i === 0 ? { method: 'GET' } : {}) };
    const outcome = new RouteCall(host, route, context, handler).run().then(
      (value) => ({ value, at: clock.now() }),
      (error: Error) => ({ error: error.name, at: clock.now() }),
    );
    const start = clock.now();
    await clock.advance(1_000);
    const result = await outcome;
    return { ...result, at: result.at - start, calls };
  }

  it('answers with the attempt that finished in time', async () => {
    expect(await runWith([150, 50])).toMatchObject({ value: 'attempt 2', at: 150, calls: 2 });
  });

  it('fails when every attempt timed out, even though attempt 1 finished later', async () => {
    expect(await runWith([150, 300])).toMatchObject({ error: 'TimeoutError', calls: 2 });
  });
});

// One client's own 429s (the handler's per-client rate limit) must not open the route's circuit
// for every client, nor make the route's retry run the handler again.
/** A service's module constant, thrown by a route handler and by a dependency's client alike. */
const UPSTREAM_LIMITED = new HttpException('partner rate limit', 429);

describe("RouteCall: the handler's own HttpException 4xx", () => {
  const routeRetry = {
    ...RETRY,
    maxAttempts: 2,
    name: 'test',
    // As the explorer builds it.
    retryIf: (e: unknown) => !isUnretryable(e) && isRetryableError(e),
  };

  it.each([429, 408, 425, 404])(
    '%i: passed to the client, neither counted by the circuit nor retried',
    async (status) => {
      const t = setup({ retry: routeRetry, fallback: () => 'fallback' });
      const own = new HttpException('Too many requests from this API key', status);
      t.setHandler(() => Promise.reject(own));
      for (let i = 0; i < 5; i++) {
        const { outcome } = t.start();
        await t.clock.advance(10);
        expect(await outcome).toBe(own);
      }
      expect(t.handle).toHaveBeenCalledTimes(5);
      const m = t.circuits.get('test')!.metrics();
      expect(m).toMatchObject({ state: 'CLOSED', failures: 0, inFlight: 0 });
      expect(m.totals).toMatchObject({ failures: 0, ignored: 5 });
      expect(t.route.metrics.snapshot()).toMatchObject({ clientErrors: 5, failures: 0, retries: 0 });
      t.setHandler(() => 'real answer');
      await expect(t.start().outcome).resolves.toBe('real answer');
    },
  );

  it("a shared exception constant: ignored by the route's circuit only, still counted by a dependency's circuit", async () => {
    const t = setup({ retry: routeRetry });
    const ignored: unknown[] = [];
    t.circuits.events.onCallOutcome((e) => {
      if (e.outcome === 'ignored') ignored.push(e.error);
    });
    t.setHandler(() => Promise.reject(UPSTREAM_LIMITED));
    const { outcome } = t.start();
    await t.clock.advance(10);
    expect(await outcome).toBe(UPSTREAM_LIMITED);
    expect(t.handle).toHaveBeenCalledTimes(1);
    expect(t.circuits.get('test')!.metrics().totals).toMatchObject({ failures: 0, ignored: 1 });
    expect(ignored).toEqual([UPSTREAM_LIMITED]);

    const moduleRef = await Test.createTestingModule({ imports: [ReliabilityModule.forRoot({})] })
      .overrideProvider(RELIABILITY_CLOCK)
      .useValue(t.clock)
      .compile();
    const app = await moduleRef.init();
    try {
      const breakers = app.get(CircuitBreakerService);
      const options = { volumeThreshold: 2, timeout: 0 };
      for (let i = 0; i < 2; i++) {
        await expect(
          breakers.execute('partner', () => Promise.reject(UPSTREAM_LIMITED), undefined, options),
        ).rejects.toBe(UPSTREAM_LIMITED);
      }
      expect(breakers.getState('partner')).toBe('OPEN');
    } finally {
      await app.close();
    }
  });

  it("a dependency's plain error with status 429 is still transient: retried and counted", async () => {
    const t = setup({ retry: routeRetry });
    t.setHandler(() => Promise.reject(Object.assign(new Error('upstream rate limit'), { status: 429 })));
    const { outcome } = t.start();
    await t.clock.advance(10);
    expect(await outcome).toMatchObject({ status: 429 });
    expect(t.handle).toHaveBeenCalledTimes(2);
    expect(t.circuits.get('test')!.metrics().totals).toMatchObject({ failures: 2 });
  });
});

// Without a total timeout, nothing woke a backoff when the client left: the call and its timer were
// held until the backoff ended (up to maxRetryAfter).
describe('RouteCall: a client gone during a backoff, no total timeout', () => {
  const longBackoff = createRetryPolicy({
    ...RETRY,
    baseDelay: 20_000,
    maxDelay: 20_000,
    name: 'test',
  });

  it('settles at once and leaves no timer', async () => {
    const t = setup({ retry: longBackoff, circuitOptions: { volumeThreshold: 100 } });
    t.setHandler(() => Promise.reject(Object.assign(new Error('503 upstream'), { status: 503 })));
    const before = t.clock.pendingTimers();
    const { rc, outcome } = t.start();
    let settled = false;
    void outcome.then(() => (settled = true));
    await t.clock.advance(0);
    expect(t.handle).toHaveBeenCalledTimes(1);
    expect(t.clock.pendingTimers()).toBe(before + 1); // the backoff
    rc.unsubscribe();
    await t.clock.advance(0);
    expect(settled).toBe(true);
    expect(await outcome).toMatchObject({ status: 499 });
    expect(t.clock.pendingTimers()).toBe(before);
    expect(t.handle).toHaveBeenCalledTimes(1);
    expect(t.route.metrics.snapshot()).toMatchObject({ abandoned: 1, retries: 0 });
  });

  it.each([
    [
      'a ready policy',
      (signal: AbortSignal) =>
        createRetryPolicy({ ...RETRY, baseDelay: 20_000, maxDelay: 20_000, name: 'test', signal }),
    ],
    [
      'a plain config',
      (signal: AbortSignal) => ({ ...RETRY, baseDelay: 20_000, maxDelay: 20_000, name: 'test', signal }),
    ],
    [
      'a plain config under a total timeout',
      (signal: AbortSignal) => ({ ...RETRY, baseDelay: 20_000, maxDelay: 20_000, signal }),
    ],
  ])(
    "the retry config's own signal, aborted mid-backoff, settles the request at once (%s)",
    async (kind, retryWith) => {
      const app = new AbortController();
      const t = setup({
        retry: retryWith(app.signal),
        circuitOptions: { volumeThreshold: 100 },
        totalTimeoutMs: kind.includes('total') ? 120_000 : 0,
      });
      t.setHandler(() => Promise.reject(Object.assign(new Error('503 upstream'), { status: 503 })));
      const { outcome } = t.start();
      let settled = false;
      void outcome.then(() => (settled = true));
      await t.clock.advance(1_000);
      expect(t.handle).toHaveBeenCalledTimes(1);
      app.abort(new Error('app shutting down'));
      await t.clock.advance(0);
      expect(settled).toBe(true);
      expect(t.handle).toHaveBeenCalledTimes(1);
    },
  );

  it('makes no AbortController of its own for a request that succeeds at once', async () => {
    const Original = global.AbortController;
    let made = 0;
    global.AbortController = class extends Original {
      constructor() {
        super();
        made++;
      }
    };
    const controllersFor = async (t: ReturnType<typeof setup>) => {
      made = 0;
      await expect(t.call()).resolves.toBe('ok');
      return made;
    };
    try {
      // The harness's handler reads its signal (one controller): the retry must add none.
      expect(await controllersFor(setup({ retry: longBackoff }))).toBe(await controllersFor(setup()));
    } finally {
      global.AbortController = Original;
    }
  });
});
