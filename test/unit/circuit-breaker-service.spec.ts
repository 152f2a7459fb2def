/**
 * CircuitBreakerService through a real Nest testing module: configuration from env strings and
 * forRoot, startup validation, first-use options, manual control, events, logging and shutdown.
 * Time is a FakeClock provided under RELIABILITY_CLOCK.
 */
import { INestApplicationContext, Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CircuitBreakerService } from '../../src/circuit-breaker/circuit-breaker.service';
import { FakeClock } from '../../src/core/common/clock';
import {
  isCircuitOpenError,
  isReliabilityConfigError,
  ReliabilityConfigError,
} from '../../src/core/common/errors';
import { RELIABILITY_CLOCK } from '../../src/reliability.tokens';
import type { ReliabilityModuleOptions } from '../../src/reliability-options.interface';
import { ReliabilityModule } from '../../src/reliability.module';
import * as resolver from '../../src/circuit-breaker/circuit-options.resolver';
import { down, ok, serverError, settle } from '../support/circuit-breaker-helpers';

async function boot(options: ReliabilityModuleOptions, clock = new FakeClock()) {
  const moduleRef = await Test.createTestingModule({
    imports: [ReliabilityModule.forRoot(options)],
  })
    .overrideProvider(RELIABILITY_CLOCK)
    .useValue(clock)
    .compile();
  const app: INestApplicationContext = await moduleRef.init();
  return { app, service: app.get(CircuitBreakerService), clock };
}

const contexts: INestApplicationContext[] = [];
async function start(options: ReliabilityModuleOptions, clock?: FakeClock) {
  const booted = await boot(options, clock);
  contexts.push(booted.app);
  return booted;
}

afterEach(async () => {
  while (contexts.length > 0) await contexts.pop()!.close();
  jest.restoreAllMocks();
});

async function failTimes(service: CircuitBreakerService, name: string, n: number) {
  for (let i = 0; i < n; i++) await settle(service.execute(name, down));
}

describe('CircuitBreakerService configuration', () => {
  it('reads CIRCUIT_BREAKER_* env values given as strings', async () => {
    const clock = new FakeClock();
    const { service } = await start(
      {
        env: {
          CIRCUIT_BREAKER_FAILURE_THRESHOLD: '0.5',
          CIRCUIT_BREAKER_VOLUME_THRESHOLD: '2',
          CIRCUIT_BREAKER_RESET_TIMEOUT: '5000',
          CIRCUIT_BREAKER_TIMEOUT: '0',
          CIRCUIT_BREAKER_ROLLING_WINDOW: '20000',
          CIRCUIT_BREAKER_ROLLING_BUCKETS: '4',
          CIRCUIT_BREAKER_HALF_OPEN_MAX_CALLS: '2',
        },
      },
      clock,
    );
    const othersTimers = clock.pendingTimers(); // other areas' providers may hold timers of their own
    await settle(service.execute('env', ok));
    expect(service.getState('env')).toBe('CLOSED');
    await failTimes(service, 'env', 1); // 1 of 2 = 50 %: opens
    expect(service.getState('env')).toBe('OPEN');
    expect(service.getCircuitMetrics('env')).toMatchObject({
      windowMs: 20_000,
      nextAttemptAt: clock.now() + 5_000,
    });
    expect(clock.pendingTimers()).toBe(othersTimers); // TIMEOUT=0: no timer of ours
    await clock.advance(5_000);
    await service.execute('env', ok);
    expect(service.getState('env')).toBe('HALF_OPEN'); // HALF_OPEN_MAX_CALLS=2: one more probe to go
    await service.execute('env', ok);
    expect(service.getState('env')).toBe('CLOSED');
  });

  it('applies the documented defaults with no configuration', async () => {
    const { service } = await start({ env: {} });
    await failTimes(service, 'defaults', 9);
    expect(service.getState('defaults')).toBe('CLOSED'); // volume threshold 10
    await failTimes(service, 'defaults', 1);
    expect(service.getState('defaults')).toBe('OPEN');
    const m = service.getCircuitMetrics('defaults')!;
    expect(m.windowMs).toBe(60_000);
    expect(m.nextAttemptAt! - m.stateSince).toBe(30_000);
  });

  it('stops boot on a bad env value, naming the variable and the value', async () => {
    const error = await boot({ env: { CIRCUIT_BREAKER_FAILURE_THRESHOLD: '50' } }).catch((e: unknown) => e);
    expect(isReliabilityConfigError(error)).toBe(true);
    expect((error as Error).message).toContain('CIRCUIT_BREAKER_FAILURE_THRESHOLD="50"');
    expect((error as Error).message).toContain('write 0.5');
    const buckets = await boot({ env: { CIRCUIT_BREAKER_ROLLING_BUCKETS: '5000' } }).catch((e: unknown) => e);
    expect((buckets as Error).message).toContain(
      'CIRCUIT_BREAKER_ROLLING_BUCKETS="5000": must be an integer from 1 to 1000',
    );
  });

  it('stops boot on bad forRoot circuits, naming every field and value', async () => {
    const error = (await boot({
      env: {},
      circuits: {
        payments: { failureThreshold: 1.5, timeout: -1 },
        search: { failureTreshold: 0.5 } as never,
        slow: { slowCallRate: 0.5 },
        weird: { isFailure: 'yes' as never },
      },
    }).catch((e: unknown) => e)) as ReliabilityConfigError;
    expect(error).toBeInstanceOf(ReliabilityConfigError);
    expect(error.issues.map((i) => [i.field, i.value])).toEqual([
      ['circuits.payments.failureThreshold', 1.5],
      ['circuits.payments.timeout', -1],
      ['circuits.search.failureTreshold', 0.5],
      ['circuits.slow.slowCallRate', 0.5],
      ['circuits.weird.isFailure', 'yes'],
    ]);
    expect(error.message).toContain(
      'circuits.search.failureTreshold=0.5: is not a circuit option; known: failureThreshold',
    );
    expect(error.message).toContain('needs slowCallThreshold too');
  });

  it('uses forRoot circuits, and lets them win over first-use options field by field', async () => {
    const { service } = await start({
      env: { CIRCUIT_BREAKER_TIMEOUT: '0' },
      circuits: { payments: { volumeThreshold: 1 }, search: { volumeThreshold: 3 } },
    });
    await failTimes(service, 'payments', 1);
    expect(service.getState('payments')).toBe('OPEN');
    const isFailure = jest.fn(() => true);
    await settle(service.execute('search', down, undefined, { volumeThreshold: 1, isFailure }));
    expect(service.getState('search')).toBe('CLOSED'); // forRoot's 3 beats the call's 1
    expect(isFailure).toHaveBeenCalled(); // ...but the call's isFailure, not set in forRoot, applies
  });

  it('validates first-use options: execute rejects naming the field, and creates no circuit', async () => {
    const { service } = await start({ env: {} });
    const fn = jest.fn(ok);
    const error = (await service
      .execute('bad', fn, undefined, { halfOpenMaxCalls: 0 })
      .catch((e: unknown) => e)) as ReliabilityConfigError;
    expect(isReliabilityConfigError(error)).toBe(true);
    expect(error.issues[0]).toMatchObject({ field: 'execute("bad") options.halfOpenMaxCalls', value: 0 });
    expect(fn).not.toHaveBeenCalled();
    expect(service.getState('bad')).toBeUndefined();
    await expect(service.execute('', ok)).rejects.toThrow('circuit name');
  });

  it('reads first-use options only: later options are ignored', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { service } = await start({ env: { CIRCUIT_BREAKER_TIMEOUT: '0' } });
    await service.execute('first', ok, undefined, { volumeThreshold: 1 });
    await settle(service.execute('first', down, undefined, { volumeThreshold: 100 }));
    expect(service.getState('first')).toBe('OPEN');
  });

  it("warns once per circuit when a later execute()'s options differ from the live circuit's", async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { service } = await start({ env: {} });
    await service.execute('llm', ok);
    await service.execute('llm', ok, undefined, { timeout: 120_000 });
    await service.execute('llm', ok, undefined, { timeout: 120_000, volumeThreshold: 3 });
    expect(service.getCircuitMetrics('llm')).toBeDefined();
    const warnings = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('"llm"'));
    expect(warnings).toEqual([
      'Circuit "llm" already exists, so this execute()\'s options are ignored (timeout: 120000 (60000 in use)). ' +
        'Give them to its first execute(), or configure it in forRoot({ circuits: { "llm": { ... } } }). ' +
        'Warned once per circuit.',
    ]);
    // The other circuits still get their own warning.
    await service.execute('other', ok);
    await service.execute('other', ok, undefined, { halfOpenMaxCalls: 2 });
    expect(warn.mock.calls.filter((c) => String(c[0]).includes('"other"'))).toHaveLength(1);
  });

  it('does not warn when later options agree with the live circuit', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { service } = await start({ env: {}, circuits: { api: { timeout: 5_000 } } });
    for (let i = 0; i < 3; i++) {
      // A fresh literal and a fresh closure on every call, as at a call site in a loop.
      await service.execute('api', ok, undefined, { volumeThreshold: 4, isFailure: (e) => e !== 1 });
      // forRoot wins over the call's timeout: not a conflict of this call.
      await service.execute('api', ok, undefined, { volumeThreshold: 4, timeout: 9_000 });
      await service.execute('api', ok, undefined, { signal: true });
    }
    expect(warn).not.toHaveBeenCalled();
    expect(service.getCircuitMetrics('api')).toBeDefined();
  });

  it("does not warn about a later call's externalTimeout, the caller's own timeout", async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { service } = await start({ env: {} });
    await service.execute('shared', ok, undefined, { timeout: 0, externalTimeout: 2_000 });
    await service.execute('shared', ok, undefined, { timeout: 0, externalTimeout: 60_000 });
    expect(warn).not.toHaveBeenCalled();
    // Another field that differs is still reported, and externalTimeout not among it.
    await service.execute('shared', ok, undefined, {
      timeout: 0,
      externalTimeout: 9_000,
      volumeThreshold: 3,
    });
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringContaining('options are ignored (volumeThreshold: 3 (10 in use))'),
    ]);
  });

  it("applies the first execute()'s options to a circuit that a manual command created", async () => {
    const { service, clock } = await start({ env: { CIRCUIT_BREAKER_TIMEOUT: '0' } });
    const changes: string[] = [];
    service.onStateChange((c) => changes.push(`${c.from}->${c.to}:${c.reason}`));
    service.open('payments'); // before any call: made with the module defaults, held open
    await expect(
      service.execute('payments', ok, undefined, { volumeThreshold: 2, resetTimeout: 500 }),
    ).rejects.toMatchObject({ circuit: 'payments', state: 'OPEN' }); // still held open
    service.close('payments');
    await failTimes(service, 'payments', 2); // volumeThreshold 2 now applies
    expect(service.getState('payments')).toBe('OPEN');
    await clock.advance(500); // and resetTimeout 500
    expect(service.getState('payments')).toBe('HALF_OPEN');
    expect(changes).toEqual([
      'CLOSED->OPEN:manual-open',
      'OPEN->CLOSED:manual-close',
      'CLOSED->OPEN:failure-rate',
      'OPEN->HALF_OPEN:reset-timeout',
    ]);
  });

  it('keeps disable() across the recreation, and reads later options as later options', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { service } = await start({ env: { CIRCUIT_BREAKER_TIMEOUT: '0' } });
    service.disable('search');
    await service.execute('search', ok, undefined, { volumeThreshold: 1 });
    expect(service.getCircuitMetrics('search')?.disabled).toBe(true);
    await failTimes(service, 'search', 3);
    expect(service.getState('search')).toBe('CLOSED');
    service.enable('search');
    await settle(service.execute('search', down, undefined, { volumeThreshold: 1 }));
    expect(service.getState('search')).toBe('OPEN');
    expect(warn.mock.calls.filter((c) => String(c[0]).includes('already exists'))).toHaveLength(0);
  });
});

describe('CircuitBreakerService: the signal option', () => {
  it.each([
    ['a rest parameter', (...args: unknown[]) => Promise.resolve(args[0] ?? 'none')],
    ['a defaulted parameter', (signal: unknown = 'none') => Promise.resolve(signal)],
  ])('passes a signal to %s with { signal: true }, and none without', async (_label, fn) => {
    const { service } = await start({ env: {} });
    expect(await service.execute('s', fn)).toBe('none');
    expect(await service.execute('s', fn, undefined, { signal: true })).toBeInstanceOf(AbortSignal);
  });

  it('passes a signal to jest.fn() with { signal: true }, and none to (signal) => … with { signal: false }', async () => {
    const { service } = await start({ env: { CIRCUIT_BREAKER_TIMEOUT: '0' } });
    const mock = jest.fn((signal?: AbortSignal) => Promise.resolve(signal));
    await service.execute('m', mock, undefined, { signal: true });
    expect(mock.mock.calls[0][0]).toBeInstanceOf(AbortSignal);
    await expect(
      service.execute('m', (signal) => Promise.resolve(signal), undefined, { signal: false }),
    ).resolves.toBeUndefined();
  });

  it('rejects a signal option that is not a boolean, naming it', async () => {
    const { service } = await start({ env: {} });
    await expect(
      service.execute('bad-signal', ok, undefined, { signal: 'yes' as unknown as boolean }),
    ).rejects.toMatchObject({ issues: [{ field: 'execute("bad-signal") options.signal', value: 'yes' }] });
  });

  it('rejects a non-boolean signal on a later call too, whether or not the options were seen before', async () => {
    const { service } = await start({ env: {} });
    const options = { timeout: 1_000 } as { timeout: number; signal?: unknown };
    await service.execute('later-signal', ok, undefined, options as never);
    options.signal = 'yes';
    for (const given of [options, { signal: 'yes' }, { signal: 1 }]) {
      await expect(service.execute('later-signal', ok, undefined, given as never)).rejects.toMatchObject({
        issues: [{ field: 'execute("later-signal") options.signal', value: given.signal }],
      });
    }
    await expect(service.execute('later-signal', ok, undefined, { signal: false })).resolves.toBe('ok');
  });
});

describe("CircuitBreakerService: a later call's options cost a lookup", () => {
  it('does not resolve the options again per call, where forRoot overrides a field they set', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { service } = await start({ env: {}, circuits: { llm: { timeout: 120_000 } } });
    await service.execute('llm', ok, undefined, { timeout: 5_000 });
    const resolve = jest.spyOn(resolver, 'resolveCircuitOptions');
    const shared = { timeout: 5_000, volumeThreshold: 10 };
    for (let i = 0; i < 100; i++) {
      await service.execute('llm', ok, undefined, { timeout: 5_000 }); // a fresh literal each call
      await service.execute('llm', ok, undefined, shared);
    }
    expect(resolve).not.toHaveBeenCalled();
    expect(service.getCircuitMetrics('llm')).toBeDefined();
    expect(warn.mock.calls.filter((c) => String(c[0]).includes('"llm"'))).toHaveLength(0);
  });

  it('checks an options object that warned only once', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { service } = await start({ env: {} });
    await service.execute('warned', ok);
    const resolve = jest.spyOn(resolver, 'resolveCircuitOptions');
    const conflicting = { volumeThreshold: 3 };
    for (let i = 0; i < 50; i++) await service.execute('warned', ok, undefined, conflicting);
    expect(resolve).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls.filter((c) => String(c[0]).includes('"warned"'))).toHaveLength(1);
  });
});

describe('CircuitBreakerService calls', () => {
  it('serves the fallback on an open circuit and passes non-counted errors through', async () => {
    const { service } = await start({ env: {}, circuits: { api: { volumeThreshold: 1 } } });
    const notFound = Object.assign(new Error('missing'), { status: 404 });
    await expect(
      service.execute(
        'api',
        () => Promise.reject(notFound),
        () => 'fallback',
      ),
    ).rejects.toBe(notFound);
    await expect(service.execute('api', down, () => 'fallback')).resolves.toBe('fallback');
    const rejection = await service.execute('api', ok).catch((e: unknown) => e);
    expect(isCircuitOpenError(rejection)).toBe(true);
    expect(rejection).toMatchObject({ circuit: 'api', state: 'OPEN' });
  });

  it('times out with the configured timeout and aborts the signal', async () => {
    const { service, clock } = await start({ env: { CIRCUIT_BREAKER_TIMEOUT: '250' } });
    let signal: AbortSignal | undefined;
    const call = settle(
      service.execute('slow', (s) => {
        signal = s;
        return new Promise(() => undefined);
      }),
    );
    await clock.advance(250);
    expect(((await call) as { error: Error }).error.name).toBe('TimeoutError');
    expect(signal?.aborted).toBe(true);
    expect(service.getCircuitMetrics('slow')?.timeouts).toBe(1);
  });
});

describe('CircuitBreakerService control, events and metrics', () => {
  it('open / close / reset / disable / enable by name, creating the circuit if needed', async () => {
    const { service } = await start({ env: { CIRCUIT_BREAKER_TIMEOUT: '0' } });
    service.open('ops');
    expect(service.getState('ops')).toBe('OPEN');
    await expect(service.execute('ops', ok)).rejects.toMatchObject({ circuit: 'ops' });
    service.close('ops');
    expect(service.getState('ops')).toBe('CLOSED');
    service.disable('ops');
    expect(service.getCircuitMetrics('ops')?.disabled).toBe(true);
    service.enable('ops');
    expect(service.getCircuitMetrics('ops')?.disabled).toBe(false);
    await service.execute('ops', ok);
    service.reset('ops');
    expect(service.getCircuitMetrics('ops')?.totals.calls).toBe(0);
  });

  it('reports unknown circuits as undefined and all circuits keyed by name', async () => {
    const { service } = await start({ env: {} });
    expect(service.getState('nope')).toBeUndefined();
    expect(service.getCircuitMetrics('nope')).toBeUndefined();
    await service.execute('a', ok);
    await service.execute('b', () => 2);
    const all = service.getAllCircuitMetrics();
    expect(Object.keys(all).sort()).toEqual(['a', 'b']);
    expect(all.a).toMatchObject({ name: 'a', state: 'CLOSED', calls: 1, failureRate: 0 });
    expect(all.a.latency).toEqual(
      expect.objectContaining({ p50: expect.any(Number), p99: expect.any(Number) }),
    );
  });

  it('emits state changes and call outcomes until disposed', async () => {
    const { service } = await start({
      env: { CIRCUIT_BREAKER_TIMEOUT: '0' },
      circuits: { e: { volumeThreshold: 1 } },
    });
    const changes: string[] = [];
    const outcomes: string[] = [];
    const offState = service.onStateChange((c) => changes.push(`${c.name}:${c.from}->${c.to}:${c.reason}`));
    const offOutcome = service.onCallOutcome((o) => outcomes.push(`${o.name}:${o.outcome}`));
    await service.execute('e', ok);
    await settle(service.execute('e', down));
    await settle(service.execute('e', ok));
    offState();
    offOutcome();
    service.close('e');
    await service.execute('e', ok);
    expect(changes).toEqual(['e:CLOSED->OPEN:failure-rate']);
    expect(outcomes).toEqual(['e:success', 'e:failure', 'e:rejected']);
  });

  it('logs transitions through Nest Logger, and listener errors too', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { service, clock } = await start({
      env: { CIRCUIT_BREAKER_TIMEOUT: '0', CIRCUIT_BREAKER_RESET_TIMEOUT: '1000' },
      circuits: { logged: { volumeThreshold: 2 } },
    });
    service.onStateChange(() => {
      throw new Error('bad listener');
    });
    await settle(service.execute('logged', () => Promise.reject(serverError())));
    await settle(service.execute('logged', () => Promise.reject(serverError())));
    expect(warn).toHaveBeenCalledWith(
      'Circuit "logged" CLOSED → OPEN (failure-rate): 2 failed and 0 slow of 2 calls in the window; probing again in 1000 ms',
    );
    await clock.advance(1_000);
    await service.execute('logged', ok);
    expect(log).toHaveBeenCalledWith('Circuit "logged" OPEN → HALF_OPEN (reset-timeout)');
    expect(log).toHaveBeenCalledWith('Circuit "logged" HALF_OPEN → CLOSED (probe-succeeded)');
    expect(error).toHaveBeenCalledWith(expect.stringContaining('bad listener'), expect.any(String));
  });

  it('leaves no timer behind after close()', async () => {
    // What the other areas leave on the clock after close(), measured on an app that made no call.
    const idleClock = new FakeClock();
    const idle = await boot({ env: {} }, idleClock);
    await idle.app.close();
    const othersAfterClose = idleClock.pendingTimers();

    const clock = new FakeClock();
    const { app, service } = await boot({ env: { CIRCUIT_BREAKER_TIMEOUT: '60000' } }, clock);
    const before = clock.pendingTimers();
    for (let i = 0; i < 10; i++) await service.execute('t', ok);
    expect(clock.pendingTimers()).toBe(before + 1); // one shared deadline timer, left to lapse
    await app.close();
    expect(clock.pendingTimers()).toBe(othersAfterClose);
  });
});
