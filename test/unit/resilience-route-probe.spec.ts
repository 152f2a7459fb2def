/**
 * A route's circuit as the explorer configures it, with the defaults (attempt timeout 60 s,
 * resetTimeout 30 s): the real module on a fake clock, the route run through its RouteCall.
 */
import { Controller, Get } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { defer, from } from 'rxjs';
import { CircuitBreakerService } from '../../src/circuit-breaker/circuit-breaker.service';
import { isCircuitOpenError } from '../../src/core/errors';
import { RetryService } from '../../src/retry/retry.service';
import { RouteCall, RouteCallHost } from '../../src/resilience/resilience-call';
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

describe('A route circuit with the default timeouts', () => {
  let moduleRef: TestingModule;
  afterEach(() => moduleRef?.close());

  async function boot() {
    moduleRef = await Test.createTestingModule({
      imports: [ReliabilityTestingModule.forRoot()],
      controllers: [ProbeController],
    }).compile();
    await moduleRef.init();
    const clock = moduleRef.get(FakeClock);
    const breakers = moduleRef.get(CircuitBreakerService);
    const retries = moduleRef.get(RetryService);
    const route = moduleRef.get(ResilienceRegistry).find(ProbeController.prototype.get, ProbeController)!;
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
    const start = () => {
      const req = { method: 'GET' };
      const res = {};
      const context = { getArgByIndex: (i: number) => [req, res][i] } as never;
      const next = { handle: () => defer(() => from(Promise.resolve().then(() => handler()))) };
      return new RouteCall(host, route, context, next).run().then(
        (value): { value?: unknown; error?: unknown } => ({ value }),
        (error: unknown) => ({ error }),
      );
    };
    return { clock, breakers, route, start, setHandler: (fn: () => unknown) => (handler = fn) };
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
});
