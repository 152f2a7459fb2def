import fc from 'fast-check';
import { FakeClock, flushMicrotasks } from '../../src/core/common/clock';
import { ReliabilityConfigError, isReliabilityConfigError } from '../../src/core/common/errors';
import { resolveReliabilityConfig } from '../../src/config/reliability-config';
import { ReliabilityModule } from '../../src/reliability.module';
import { HealthCheckRunner } from '../../src/shutdown/health-checks';
import { resolveHealthOptions } from '../../src/shutdown/health.options';
import { HEALTH_OPTIONS, healthModuleParts } from '../../src/shutdown/health.parts';
import { ReliabilityHealthIndicator } from '../../src/shutdown/reliability-health.indicator';
import { ReliabilityHealthService } from '../../src/shutdown/reliability-health.service';
import { ShutdownService } from '../../src/shutdown/shutdown.service';

type State = 'CLOSED' | 'OPEN' | 'HALF_OPEN' | undefined;

type DatabaseStandIn = { healthCheck(): Promise<{ ok: boolean; latencyMs: number; error?: string }> };
/** The service with stand-ins for CircuitBreakerService and DatabaseService, which the tests set. */
type TestHealthService = ReliabilityHealthService & {
  circuits: Map<string, State>;
  database: DatabaseStandIn | undefined;
};

function healthService(
  shutdown: ShutdownService,
  moduleOptions: object,
  config: ReturnType<typeof resolveReliabilityConfig>,
  options: ReturnType<typeof resolveHealthOptions> | null,
  clock: FakeClock,
  present: { circuits?: boolean; database?: boolean } = {},
): TestHealthService {
  const ref: { self?: TestHealthService } = {};
  const reader = { getState: (name: string) => ref.self!.circuits.get(name) };
  const database: DatabaseStandIn = { healthCheck: () => ref.self!.database!.healthCheck() };
  const service = new ReliabilityHealthService(
    shutdown,
    config,
    options,
    clock,
    present.circuits === false ? undefined : (reader as never),
    present.database === false ? undefined : (database as never),
    moduleOptions,
  );
  ref.self = Object.assign(service, { circuits: new Map<string, State>(), database: undefined });
  return ref.self;
}

function shutdownStub(phase = 'RUNNING'): ShutdownService {
  return {
    getPhase: () => phase,
    isReady: () => phase === 'RUNNING',
    isShuttingDown: () => phase !== 'RUNNING',
    isLive: () => true,
  } as unknown as ShutdownService;
}

function catchMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('did not throw');
}

describe('health options', () => {
  it('defaults and normalizes the path', () => {
    expect(resolveHealthOptions({})).toEqual({
      path: 'health',
      criticalCircuits: [],
      database: undefined,
      checks: [],
    });
    expect(resolveHealthOptions({ path: '/internal/health/', criticalCircuits: ['a', 'a'] })).toMatchObject({
      path: 'internal/health',
      criticalCircuits: ['a'],
    });
  });

  it('names each bad field and value', () => {
    try {
      resolveHealthOptions({ path: 'bad path?', criticalCircuits: [''], database: 'yes', extra: 1 } as never);
      throw new Error('did not throw');
    } catch (error) {
      expect(isReliabilityConfigError(error)).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain('health.path="bad path?"');
      expect(message).toContain('health.criticalCircuits=[""]');
      expect(message).toContain('health.database="yes"');
      expect(message).toContain('health.extra=1: is not a known option');
    }
  });

  it('custom checks: a function or { check, timeoutMs }, 1000 ms unless given', () => {
    const ping = () => true;
    expect(
      resolveHealthOptions({ checks: { desktop: ping, llm: { check: ping, timeoutMs: 50 } } }).checks,
    ).toEqual([
      { name: 'desktop', check: ping, timeoutMs: 1000 },
      { name: 'llm', check: ping, timeoutMs: 50 },
    ]);
  });

  it('custom checks: a bad check fails at startup, naming the check', () => {
    const bad = {
      desktop: 'http://127.0.0.1:9990',
      llm: { check: () => true, timeoutMs: 0 },
      queue: { timeoutMs: 10 },
      cache: { check: () => true, timeout: 10 },
      shutdown: () => true,
      'circuit:x': () => true,
    };
    expect(() => resolveHealthOptions({ checks: bad } as never)).toThrow(ReliabilityConfigError);
    const message = catchMessage(() => resolveHealthOptions({ checks: bad } as never));
    expect(message).toContain('health.checks.desktop="http://127.0.0.1:9990": must be a function or { check');
    expect(message).toContain('health.checks.llm.timeoutMs=0: must be a number of ms above 0');
    expect(message).toContain('health.checks.queue={"timeoutMs":10}: must be a function or { check');
    expect(message).toContain(
      'health.checks.cache.timeout=10: is not a known option; known: check, timeoutMs',
    );
    expect(message).toContain('health.checks.shutdown="shutdown": is a reserved name');
    expect(message).toContain('health.checks.circuit:x="circuit:x": is a reserved name');
    // At startup: forRoot() throws.
    expect(() => ReliabilityModule.forRoot({ health: { checks: { desktop: 'ping' } } } as never)).toThrow(
      /health\.checks\.desktop="ping": must be a function/,
    );
    expect(catchMessage(() => resolveHealthOptions({ checks: [() => true] } as never))).toContain(
      'health.checks=[null]: must be an object of named checks',
    );
  });

  it('custom checks: "__proto__" is refused; other Object.prototype names are reported under their names', async () => {
    // Only JSON.parse (config from a file) gives an object an own "__proto__" key.
    const checks = JSON.parse('{"__proto__": {"timeoutMs": 100}}') as Record<string, { check?: unknown }>;
    checks['__proto__'].check = () => false;
    expect(catchMessage(() => resolveHealthOptions({ checks } as never))).toContain(
      'health.checks.__proto__="__proto__": cannot be a check name; choose another',
    );
    const names = ['constructor', 'toString', 'hasOwnProperty', 'valueOf'];
    const options = resolveHealthOptions({ checks: Object.fromEntries(names.map((n) => [n, () => false])) });
    const report = await new HealthCheckRunner(options.checks, new FakeClock()).runAll();
    expect(Object.keys(report)).toEqual(names);
    expect(Object.values(report).every((c) => c.status === 'down')).toBe(true);
  });

  it('healthModuleParts adds a controller only when health is configured', () => {
    expect(healthModuleParts(undefined)).toEqual({
      controllers: [],
      providers: [{ provide: HEALTH_OPTIONS, useValue: null }],
    });
    const parts = healthModuleParts({ path: '/status' });
    expect(parts.controllers).toHaveLength(1);
    expect(Reflect.getMetadata('path', parts.controllers[0])).toBe('status');
  });
});

describe('ReliabilityHealthService', () => {
  const config = resolveReliabilityConfig({ database: { healthTimeout: 100 } }, () => undefined);
  let clock: FakeClock;
  beforeEach(() => (clock = new FakeClock()));

  const make = (
    opts: {
      phase?: string;
      health?: object;
      moduleOptions?: object;
      database?: boolean;
      circuits?: boolean;
    } = {},
  ) =>
    healthService(
      shutdownStub(opts.phase),
      opts.moduleOptions ?? {},
      config,
      resolveHealthOptions(opts.health ?? {}),
      clock,
      { database: opts.database, circuits: opts.circuits },
    );

  it('ready while running; not ready from the first moment of the shutdown; live throughout', async () => {
    expect(await make().readiness()).toEqual({
      status: 'ok',
      checks: { shutdown: { status: 'up', phase: 'RUNNING' } },
    });
    const grace = make({ phase: 'GRACE' });
    expect(await grace.readiness()).toEqual({
      status: 'error',
      checks: { shutdown: { status: 'down', phase: 'GRACE' } },
    });
    expect(grace.liveness()).toMatchObject({
      status: 'ok',
      checks: { process: { status: 'up', phase: 'GRACE' } },
    });
    const snapshot = await grace.getHealth();
    expect(snapshot.live).toBe(true);
    expect(snapshot.ready).toBe(false);
  });

  it('not ready while a critical circuit is open; half-open and unused circuits are fine', async () => {
    const service = make({ health: { criticalCircuits: ['payments', 'search', 'fresh'] } });
    service.circuits.set('payments', 'OPEN');
    service.circuits.set('search', 'HALF_OPEN');
    expect(await service.readiness()).toEqual({
      status: 'error',
      checks: {
        shutdown: { status: 'up', phase: 'RUNNING' },
        'circuit:payments': { status: 'down', state: 'OPEN' },
        'circuit:search': { status: 'up', state: 'HALF_OPEN' },
        'circuit:fresh': { status: 'up', state: 'CLOSED' },
      },
    });
    service.circuits.set('payments', 'CLOSED');
    expect((await service.readiness()).status).toBe('ok');
  });

  it('says so when critical circuits are configured but CircuitBreakerService is missing', async () => {
    const service = make({ health: { criticalCircuits: ['payments'] }, circuits: false });
    expect((await service.readiness()).checks['circuit:payments']).toEqual({
      status: 'down',
      error: 'CircuitBreakerService is not available',
    });
  });

  it('runs the database check when a database is configured, or when asked', async () => {
    const withDb = make({ moduleOptions: { database: { client: () => ({}) } } });
    withDb.database = { healthCheck: async () => ({ ok: true, latencyMs: 3 }) };
    expect((await withDb.readiness()).checks.database).toEqual({ status: 'up', latencyMs: 3 });

    const noDb = make();
    expect((await noDb.readiness()).checks.database).toBeUndefined();

    const asked = make({ health: { database: true }, database: false });
    expect((await asked.readiness()).checks.database).toEqual({
      status: 'down',
      error: 'DatabaseService is not available',
    });

    const off = make({ health: { database: false }, moduleOptions: { database: {} } });
    expect((await off.readiness()).checks.database).toBeUndefined();
  });

  it('a failing or hanging database check makes readiness 503, within DATABASE_HEALTH_TIMEOUT', async () => {
    const failing = make({ health: { database: true } });
    failing.database = {
      healthCheck: async () => ({ ok: false, latencyMs: 12, error: 'P1001: unreachable' }),
    };
    expect(await failing.readiness()).toMatchObject({
      status: 'error',
      checks: { database: { status: 'down', latencyMs: 12, error: 'P1001: unreachable' } },
    });

    const hanging = make({ health: { database: true } });
    hanging.database = { healthCheck: () => new Promise(() => undefined) };
    const pending = hanging.readiness();
    await clock.advance(100);
    expect((await pending).checks.database).toMatchObject({ status: 'down', latencyMs: 100 });
  });

  it('does not query the database during shutdown', async () => {
    const service = make({ phase: 'DRAINING', health: { database: true } });
    let called = false;
    service.database = {
      healthCheck: async () => {
        called = true;
        return { ok: true, latencyMs: 1 };
      },
    };
    expect((await service.readiness()).checks.database).toEqual({
      status: 'down',
      error: 'not checked: shutting down',
    });
    expect(called).toBe(false);
  });
});

describe('ReliabilityHealthService: custom checks (health.checks)', () => {
  const config = resolveReliabilityConfig({}, () => undefined);
  let clock: FakeClock;
  beforeEach(() => (clock = new FakeClock()));
  const make = (checks: Record<string, unknown>, phase?: string) =>
    healthService(shutdownStub(phase), {}, config, resolveHealthOptions({ checks } as never), clock);

  it('passes, throws, rejects and returns false: each under its name, and readiness follows', async () => {
    const service = make({
      desktop: () => true,
      queue: async () => undefined,
      llm: () => {
        throw new Error('no API key');
      },
      cache: async () => Promise.reject(new Error('ECONNREFUSED')),
      search: async () => false,
    });
    const ready = await service.readiness();
    expect(ready).toEqual({
      status: 'error',
      checks: {
        shutdown: { status: 'up', phase: 'RUNNING' },
        desktop: { status: 'up', latencyMs: 0 },
        queue: { status: 'up', latencyMs: 0 },
        llm: { status: 'down', latencyMs: 0, error: 'no API key' },
        cache: { status: 'down', latencyMs: 0, error: 'ECONNREFUSED' },
        search: { status: 'down', latencyMs: 0, error: 'the check returned false' },
      },
    });
    expect((await make({ desktop: () => true, queue: async () => 'pong' }).readiness()).status).toBe('ok');
  });

  it('a check past its timeout fails, its signal is aborted, and no timer is left behind', async () => {
    let signal: AbortSignal | undefined;
    const service = make({
      slow: { check: (s: AbortSignal) => ((signal = s), new Promise(() => undefined)), timeoutMs: 50 },
      hanging: () => new Promise(() => undefined),
      fast: () => true,
    });
    const pending = service.readiness();
    await clock.advance(49);
    expect(signal?.aborted).toBe(false);
    await clock.advance(1);
    expect(signal?.aborted).toBe(true);
    await clock.advance(950);
    const ready = await pending;
    expect(ready.checks.slow).toEqual({
      status: 'down',
      latencyMs: 50,
      error: '"slow health check" timed out after 50 ms',
    });
    expect(ready.checks.hanging).toMatchObject({ status: 'down', latencyMs: 1000 });
    expect(ready.checks.fast).toEqual({ status: 'up', latencyMs: 0 });
    expect(clock.pendingTimers()).toBe(0);
    // A check that settles in time withdraws its deadline at once.
    await make({ fast: () => true }).readiness();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('probes that arrive while a check runs share its run', async () => {
    let calls = 0;
    let release!: () => void;
    const service = make({ desktop: () => (calls++, new Promise<void>((r) => (release = r))) });
    const first = service.readiness();
    const second = service.readiness();
    await flushMicrotasks();
    release();
    expect((await first).checks.desktop).toMatchObject({ status: 'up' });
    expect((await second).checks.desktop).toMatchObject({ status: 'up' });
    expect(calls).toBe(1);
    const third = service.readiness();
    await flushMicrotasks();
    release();
    await third;
    expect(calls).toBe(2);
  });

  it('a check that ignores its signal is called again only once beside its hung run, after 5 timeouts', async () => {
    let calls = 0;
    let running = 0;
    const releases: (() => void)[] = [];
    const service = make({
      desktop: {
        check: () => {
          calls++;
          running++;
          return new Promise<void>((r) => releases.push(r)).finally(() => running--);
        },
        timeoutMs: 1000,
      },
    });
    const first = service.readiness();
    await clock.advance(1000);
    expect((await first).checks.desktop).toEqual({
      status: 'down',
      latencyMs: 1000,
      error: '"desktop health check" timed out after 1000 ms',
    });
    for (let probe = 1; probe <= 3; probe++) {
      await clock.advance(1000);
      expect((await service.readiness()).checks.desktop).toEqual({
        status: 'down',
        error:
          `still running after ${1000 + probe * 1000} ms (timed out after 1000 ms): ` +
          'not called again until it settles, or once beside it after 5000 ms',
      });
      expect(await service.customCheck('desktop')).toMatchObject({ status: 'down' });
    }
    expect(calls).toBe(1);
    // 5000 ms into the hung run: one fresh call beside it, which hangs too.
    await clock.advance(1000);
    const beside = service.readiness();
    await flushMicrotasks();
    expect(calls).toBe(2);
    await clock.advance(1000);
    expect((await beside).checks.desktop).toMatchObject({ status: 'down' });
    // Two calls outstanding: no more, however long they hang.
    for (let probe = 0; probe < 10; probe++) {
      await clock.advance(3_600_000);
      expect((await service.readiness()).checks.desktop).toMatchObject({ status: 'down' });
    }
    expect(calls).toBe(2);
    expect(running).toBe(2);
    expect(clock.pendingTimers()).toBe(0);
    // The dependency is back: the hung calls settle, and the next probe calls the check again.
    releases.splice(0).forEach((release) => release());
    await flushMicrotasks();
    expect(running).toBe(0);
    const next = service.readiness();
    await flushMicrotasks();
    releases.splice(0).forEach((release) => release());
    expect((await next).checks.desktop).toEqual({ status: 'up', latencyMs: 0 });
    expect(calls).toBe(3);
  });

  it('property: at most two calls of a check at a time, a second only 5 timeouts into the first', async () => {
    type Step = { probe: true } | { advance: number } | { settle: true };
    const step = fc.oneof(
      fc.constant<Step>({ probe: true }),
      fc.integer({ min: 1, max: 3000 }).map<Step>((advance) => ({ advance })),
      fc.constant<Step>({ settle: true }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        const fake = new FakeClock();
        const active: { started: number; release: () => void }[] = [];
        let calls = 0;
        const check = () => (
          calls++,
          new Promise<void>((release) => active.push({ started: fake.now(), release }))
        );
        const runner = new HealthCheckRunner([{ name: 'hung', check, timeoutMs: 1000 }], fake);
        const probes: Promise<unknown>[] = [];
        for (const s of steps) {
          if ('probe' in s) {
            const before = calls;
            const newest = active[active.length - 1];
            probes.push(runner.runAll());
            if (active.length === 0 || before === calls) {
              expect(calls - before).toBeLessThanOrEqual(1);
            }
            if (newest === undefined) expect(calls - before).toBe(1);
            else if (fake.now() - newest.started < 5000) expect(calls - before).toBe(0);
          } else if ('advance' in s) {
            await fake.advance(s.advance);
          } else {
            active.shift()?.release();
            await flushMicrotasks();
          }
          expect(active.length).toBeLessThanOrEqual(2);
        }
        active.forEach(({ release }) => release());
        await fake.advance(1000);
        await Promise.all(probes);
        expect(fake.pendingTimers()).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('does not run the checks during shutdown', async () => {
    let called = false;
    const service = make({ desktop: () => (called = true) }, 'DRAINING');
    expect((await service.readiness()).checks.desktop).toEqual({
      status: 'down',
      error: 'not checked: shutting down',
    });
    expect(await service.customCheck('desktop')).toEqual({
      status: 'down',
      error: 'not checked: shutting down',
    });
    expect(called).toBe(false);
  });

  it('the terminus indicator: check(name) under its name or a key; an unknown name is down', async () => {
    const indicator = new ReliabilityHealthIndicator(make({ desktop: () => true, llm: async () => false }));
    expect(await indicator.check('desktop')).toEqual({ desktop: { status: 'up', latencyMs: 0 } });
    expect(await indicator.check('llm', 'model')).toEqual({
      model: { status: 'down', latencyMs: 0, error: 'the check returned false' },
    });
    expect(await indicator.check('nope')).toEqual({
      nope: { status: 'down', error: 'no health check named "nope"' },
    });
    expect(await indicator.readiness()).toMatchObject({
      reliability: { status: 'down', desktop: { status: 'up' }, llm: { status: 'down' } },
    });
  });
});

describe('ReliabilityHealthIndicator (terminus shape)', () => {
  const config = resolveReliabilityConfig({}, () => undefined);

  it('returns { [key]: { status, ...detail } } and never throws', async () => {
    const service = healthService(shutdownStub('GRACE'), {}, config, null, new FakeClock());
    service.circuits.set('payments', 'OPEN');
    const indicator = new ReliabilityHealthIndicator(service);
    expect(indicator.shutdown()).toEqual({ shutdown: { status: 'down', phase: 'GRACE' } });
    expect(indicator.shutdown('app')).toEqual({ app: { status: 'down', phase: 'GRACE' } });
    expect(await indicator.circuits(['payments'])).toEqual({
      circuits: { status: 'down', 'circuit:payments': { status: 'down', state: 'OPEN' } },
    });
    expect(await indicator.readiness()).toEqual({
      reliability: { status: 'down', shutdown: { status: 'down', phase: 'GRACE' } },
    });
  });
});
