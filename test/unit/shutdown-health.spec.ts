import { FakeClock } from '../../src/core/clock';
import { isReliabilityConfigError } from '../../src/core/errors';
import { resolveReliabilityConfig } from '../../src/config/reliability-config';
import { resolveHealthOptions } from '../../src/shutdown/health.options';
import { HEALTH_OPTIONS, healthModuleParts } from '../../src/shutdown/health.parts';
import { ReliabilityHealthIndicator } from '../../src/shutdown/reliability-health.indicator';
import { ReliabilityHealthService } from '../../src/shutdown/reliability-health.service';
import { ShutdownService } from '../../src/shutdown/shutdown.service';

type State = 'CLOSED' | 'OPEN' | 'HALF_OPEN' | undefined;

/** The service with CircuitBreakerService / DatabaseService stand-ins, as the lazy lookup would find them. */
class TestHealthService extends ReliabilityHealthService {
  circuits = new Map<string, State>();
  database: { healthCheck(): Promise<{ ok: boolean; latencyMs: number; error?: string }> } | undefined;
  hasCircuitService = true;

  protected override async lookup<T>(provider: string): Promise<T | undefined> {
    if (provider === 'CircuitBreakerService') {
      return this.hasCircuitService ? ({ getState: (n: string) => this.circuits.get(n) } as T) : undefined;
    }
    return this.database as T | undefined;
  }
}

function shutdownStub(phase = 'RUNNING'): ShutdownService {
  return {
    getPhase: () => phase,
    isReady: () => phase === 'RUNNING',
    isShuttingDown: () => phase !== 'RUNNING',
    isLive: () => true,
  } as unknown as ShutdownService;
}

const moduleRef = (moduleOptions: object = {}) => ({ get: () => moduleOptions }) as never;

describe('health options', () => {
  it('defaults and normalizes the path', () => {
    expect(resolveHealthOptions({})).toEqual({ path: 'health', criticalCircuits: [], database: undefined });
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

  const make = (opts: { phase?: string; health?: object; moduleOptions?: object } = {}) =>
    new TestHealthService(
      shutdownStub(opts.phase),
      moduleRef(opts.moduleOptions),
      config,
      resolveHealthOptions(opts.health ?? {}),
      clock,
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
    const service = make({ health: { criticalCircuits: ['payments'] } });
    service.hasCircuitService = false;
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

    const asked = make({ health: { database: true } });
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

describe('ReliabilityHealthIndicator (terminus shape)', () => {
  const config = resolveReliabilityConfig({}, () => undefined);

  it('returns { [key]: { status, ...detail } } and never throws', async () => {
    const service = new TestHealthService(shutdownStub('GRACE'), moduleRef(), config, null, new FakeClock());
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
