/**
 * A route's circuit as the explorer configures it, with the defaults (attempt timeout 60 s,
 * resetTimeout 30 s): the real module on a fake clock, the route run through its RouteCall.
 */
import { Controller, Get, Logger, Type } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { defer, from } from 'rxjs';
import { CircuitBreakerService } from '../../src/circuit-breaker/circuit-breaker.service';
import { isCircuitOpenError } from '../../src/core/common/errors';
import { RetryService } from '../../src/retry/retry.service';
import { RouteCall, RouteCallHost } from '../../src/resilience/resilience-call';
import type { ResilienceRoute } from '../../src/resilience/resilience-route';
import { serviceUnavailable } from '../../src/resilience/resilience-errors';
import { ResilienceRegistry } from '../../src/resilience/resilience.registry';
import { UseResilience } from '../../src/resilience/use-resilience.decorator';
import { FakeClock, ReliabilityTestingModule } from '../../src/testing';

@Controller('probe')
class ProbeController {
  @Get()
  @UseResilience({ circuitName: 'slow-dependency', circuit: { volumeThreshold: 2 } })
  get(): string {
    return 'unused: the test runs the route with its own handler';
  }
}

/** Two routes of one circuit: whichever runs first creates it. */
@Controller('shared')
class SharedCircuitController {
  @Get('fast')
  @UseResilience({ circuitName: 'shared', timeoutMs: 2_000, circuit: { volumeThreshold: 2 } })
  fast(): string {
    return 'unused';
  }

  @Get('slow')
  @UseResilience({ circuitName: 'shared', circuit: { volumeThreshold: 2 } })
  slow(): string {
    return 'unused';
  }
}

/** Two routes of one circuit, one without any timeout. */
@Controller('unbounded')
class UnboundedSharedController {
  @Get('bounded')
  @UseResilience({ circuitName: 'mixed', circuit: { volumeThreshold: 2 } })
  bounded(): string {
    return 'unused';
  }

  @Get('unbounded')
  @UseResilience({ circuitName: 'mixed', timeoutMs: 0, circuit: { volumeThreshold: 2 } })
  unbounded(): string {
    return 'unused';
  }
}

describe('A route circuit with the default timeouts', () => {
  let moduleRef: TestingModule;
  afterEach(() => moduleRef?.close());

  async function boot(controller: Type = ProbeController) {
    moduleRef = await Test.createTestingModule({
      imports: [ReliabilityTestingModule.forRoot()],
      controllers: [controller],
    }).compile();
    await moduleRef.init();
    const clock = moduleRef.get(FakeClock);
    const breakers = moduleRef.get(CircuitBreakerService);
    const retries = moduleRef.get(RetryService);
    const registry = moduleRef.get(ResilienceRegistry);
    const route = registry.find(ProbeController.prototype.get, ProbeController)!;
    const find = (method: string) =>
      registry.find((controller.prototype as Record<string, object>)[method], controller)!;
    const host: RouteCallHost = {
      clock,
      executeInCircuit: (r, fn) => breakers.execute(r.name, fn, undefined, r.circuitOptions),
      executeWithRetry: (fn, config) => retries.executeWithRetry(fn, config),
      isHeadersSent: () => false,
      setStatus: () => undefined,
      setHeader: () => undefined,
      toHttpError: (error) => (isCircuitOpenError(error) ? serviceUnavailable(error) : error),
      onStreamed: () => undefined,
    };
    let handler: () => unknown = () => 'ok';
    const start = (on: ResilienceRoute = route) => {
      const req = { method: 'GET' };
      const res = {};
      const context = { getArgByIndex: (i: number) => [req, res][i] } as never;
      const next = { handle: () => defer(() => from(Promise.resolve().then(() => handler()))) };
      return new RouteCall(host, on, context, next).run().then(
        (value): { value?: unknown; error?: unknown } => ({ value }),
        (error: unknown) => ({ error }),
      );
    };
    return { clock, breakers, route, find, start, setHandler: (fn: () => unknown) => (handler = fn) };
  }

  it('a probe answering in 45 s (inside the route timeout) closes the circuit', async () => {
    const t = await boot();
    expect(t.route.timeoutMs).toBe(60_000);
    t.setHandler(() => {
      throw new Error('down');
    });
    await t.start();
    await t.start();
    expect(t.breakers.getState('slow-dependency')).toBe('OPEN');
    await t.clock.advance(30_000);
    t.setHandler(() => t.clock.sleep(45_000).then(() => 'slow but healthy'));
    const probe = t.start();
    await t.clock.advance(0);
    expect(t.breakers.getCircuitMetrics('slow-dependency')).toMatchObject({
      state: 'HALF_OPEN',
      inFlight: 1,
    });
    // Past resetTimeout, inside the route's timeout: another request is turned away, the probe stays.
    await t.clock.advance(35_000);
    const other = await t.start();
    expect(other.error).toMatchObject({ status: 503 });
    expect(t.breakers.getState('slow-dependency')).toBe('HALF_OPEN');
    await t.clock.advance(10_000);
    expect(await probe).toEqual({ value: 'slow but healthy' });
    const m = t.breakers.getCircuitMetrics('slow-dependency')!;
    expect(m.state).toBe('CLOSED');
    expect(m.lastStateChange?.reason).toBe('probe-succeeded');
  });

  it('a probe still running past the route timeout is released by it, and re-opens the circuit', async () => {
    const t = await boot();
    t.setHandler(() => {
      throw new Error('down');
    });
    await t.start();
    await t.start();
    await t.clock.advance(30_000);
    t.setHandler(() => new Promise(() => undefined));
    const probe = t.start();
    await t.clock.advance(60_000);
    expect((await probe).error).toMatchObject({ name: 'TimeoutError' });
    expect(t.breakers.getCircuitMetrics('slow-dependency')).toMatchObject({ state: 'OPEN', inFlight: 0 });
  });

  it('routes sharing a circuit: a healthy probe of the 60 s route is not stuck at the 2 s route timeout', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const t = await boot(SharedCircuitController);
    const fast = t.find('fast');
    const slow = t.find('slow');
    expect([fast.timeoutMs, slow.timeoutMs]).toEqual([2_000, 60_000]);
    expect([fast.circuitOptions.externalTimeout, slow.circuitOptions.externalTimeout]).toEqual([
      60_000, 60_000,
    ]);
    t.setHandler(() => {
      throw new Error('down');
    });
    await t.start(fast);
    await t.start(fast);
    expect(t.breakers.getState('shared')).toBe('OPEN');
    await t.clock.advance(30_000);
    t.setHandler(() => t.clock.sleep(10_000).then(() => 'slow but healthy'));
    const probe = t.start(slow);
    await t.clock.advance(5_000);
    expect((await t.start(slow)).error).toMatchObject({ status: 503 });
    expect(t.breakers.getState('shared')).toBe('HALF_OPEN');
    await t.clock.advance(5_000);
    expect(await probe).toEqual({ value: 'slow but healthy' });
    expect(t.breakers.getState('shared')).toBe('CLOSED');
    const optionWarnings = warn.mock.calls
      .map(([m]) => String(m))
      .filter((m) => m.includes('already exists'));
    warn.mockRestore();
    expect(optionWarnings).toEqual([]);
  });

  it('a route without a timeout does not shorten the shared probe limit to resetTimeout', async () => {
    const t = await boot(UnboundedSharedController);
    expect([t.find('bounded').timeoutMs, t.find('unbounded').timeoutMs]).toEqual([60_000, 0]);
    expect(t.find('unbounded').circuitOptions.externalTimeout).toBe(60_000);
    expect(t.find('bounded').circuitOptions.externalTimeout).toBe(60_000);
  });
});
