import { CircuitBreaker } from '../../src/core/circuit-breaker/circuit-breaker';
import type { CircuitBreakerSettings } from '../../src/core/circuit-breaker/settings';
import type { CircuitStateChange } from '../../src/core/circuit-breaker/events';
import { FakeClock } from '../../src/core/common/clock';
import {
  CircuitOpenError,
  TimeoutError,
  isCircuitOpenError,
  isTimeoutError,
} from '../../src/core/common/errors';
import { deferred, down, ok, serverError, settle } from '../support/circuit-breaker-helpers';

// Small numbers keep the tests readable; `timeout: 0` unless a test is about timeouts.
const BASE: Partial<CircuitBreakerSettings> = {
  failureThreshold: 0.5,
  volumeThreshold: 4,
  resetTimeout: 1_000,
  rollingWindow: 10_000,
  rollingBuckets: 10,
  timeout: 0,
};

function setup(settings: Partial<CircuitBreakerSettings> = {}) {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker('svc', { ...BASE, ...settings }, { clock });
  const changes: CircuitStateChange[] = [];
  breaker.events.onStateChange((e) => changes.push(e));
  return { clock, breaker, changes };
}

async function run(breaker: CircuitBreaker, outcomes: string): Promise<void> {
  for (const o of outcomes) await settle(breaker.execute(o === 's' ? ok : down));
}

async function trip(breaker: CircuitBreaker): Promise<void> {
  await run(breaker, 'ffff');
  expect(breaker.getState()).toBe('OPEN');
}

describe('CircuitBreaker: closed → open', () => {
  it('stays closed on successes and passes values through', async () => {
    const { breaker } = setup();
    for (let i = 0; i < 20; i++) await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(breaker.getState()).toBe('CLOSED');
  });

  it('opens at exactly the threshold: 2 failures in 4 calls is 50 % and opens at 0.5', async () => {
    const { breaker, changes } = setup();
    await run(breaker, 'sfs');
    expect(breaker.getState()).toBe('CLOSED'); // 3 calls < volumeThreshold 4
    await run(breaker, 'f');
    expect(breaker.getState()).toBe('OPEN');
    expect(changes).toEqual([
      { name: 'svc', from: 'CLOSED', to: 'OPEN', at: expect.any(Number), reason: 'failure-rate' },
    ]);
  });

  it('stays closed just below the threshold', async () => {
    const { breaker } = setup({ volumeThreshold: 10 });
    await run(breaker, 'ffff' + 'ssssss'); // 40 %
    expect(breaker.getState()).toBe('CLOSED');
    await run(breaker, 'f'); // 5 / 11 = 45 %
    expect(breaker.getState()).toBe('CLOSED');
    await run(breaker, 'f'); // 6 / 12 = 50 %
    expect(breaker.getState()).toBe('OPEN');
  });

  it('does not open below the volume threshold, even at 100 % failures', async () => {
    const { breaker } = setup({ volumeThreshold: 10 });
    await run(breaker, 'fffffffff');
    expect(breaker.getState()).toBe('CLOSED');
    // The 10th call reaches the volume: 9 / 10 failed, so even a success opens it.
    await run(breaker, 's');
    expect(breaker.getState()).toBe('OPEN');
  });

  it('opens at exact decimal thresholds (division, not multiplication)', async () => {
    const { breaker } = setup({ failureThreshold: 0.1, volumeThreshold: 30 });
    await run(breaker, 'fff' + 's'.repeat(26));
    expect(breaker.getState()).toBe('CLOSED');
    await run(breaker, 's'); // 3 / 30 = 10 % exactly; 0.1 * 30 would be 3.0000000000000004
    expect(breaker.getState()).toBe('OPEN');
  });

  it('forgets failures once they roll out of the window', async () => {
    const { breaker, clock } = setup();
    await run(breaker, 'fff');
    await clock.advance(10_000); // the whole window later
    await run(breaker, 'fsss');
    expect(breaker.getState()).toBe('CLOSED');
    expect(breaker.metrics()).toMatchObject({ calls: 4, failures: 1 });
  });

  it('keeps failures that are still inside the window', async () => {
    const { breaker, clock } = setup();
    await run(breaker, 'ff');
    await clock.advance(8_999); // bucket 8 of 0..9: the first bucket is still in
    await run(breaker, 'ss');
    expect(breaker.getState()).toBe('OPEN');
  });
});

describe('CircuitBreaker: open', () => {
  it('rejects at once without calling fn, with name, state and retryAfterMs, and no stack', async () => {
    const { breaker, clock } = setup();
    await trip(breaker);
    await clock.advance(300);
    const fn = jest.fn(ok);
    const error = await breaker.execute(fn).catch((e: unknown) => e);
    expect(fn).not.toHaveBeenCalled();
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(isCircuitOpenError(error)).toBe(true);
    expect(error).toMatchObject({ circuit: 'svc', state: 'OPEN', retryAfterMs: 700 });
    expect(String((error as Error).stack).split('\n')).toHaveLength(1);
    expect(breaker.metrics()).toMatchObject({ rejections: 1, nextAttemptAt: clock.now() + 700 });
  });

  it('owns no timer while open, and half-opens lazily after resetTimeout', async () => {
    const { breaker, clock, changes } = setup();
    await trip(breaker);
    expect(clock.pendingTimers()).toBe(0);
    await clock.advance(999);
    expect(breaker.getState()).toBe('OPEN');
    await clock.advance(1);
    expect(breaker.getState()).toBe('HALF_OPEN');
    expect(changes.map((c) => [c.to, c.reason])).toEqual([
      ['OPEN', 'failure-rate'],
      ['HALF_OPEN', 'reset-timeout'],
    ]);
  });

  it('lets the first call after resetTimeout through as a probe', async () => {
    const { breaker, clock } = setup();
    await trip(breaker);
    await clock.advance(1_000);
    const fn = jest.fn(ok);
    await expect(breaker.execute(fn)).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(breaker.getState()).toBe('CLOSED');
  });
});

describe('CircuitBreaker: half-open', () => {
  it('a successful probe closes the circuit and clears the window', async () => {
    const { breaker, clock, changes } = setup();
    await trip(breaker);
    await clock.advance(1_000);
    await breaker.execute(ok);
    expect(breaker.getState()).toBe('CLOSED');
    expect(breaker.metrics()).toMatchObject({ calls: 0, failures: 0, rejections: 0 });
    expect(changes.at(-1)).toMatchObject({ from: 'HALF_OPEN', to: 'CLOSED', reason: 'probe-succeeded' });
    // A fresh window: one failure does not re-open it.
    await run(breaker, 'f');
    expect(breaker.getState()).toBe('CLOSED');
  });

  it('a failed probe re-opens the circuit for another resetTimeout', async () => {
    const { breaker, clock, changes } = setup();
    await trip(breaker);
    await clock.advance(1_000);
    await settle(breaker.execute(down));
    expect(breaker.getState()).toBe('OPEN');
    expect(breaker.metrics().nextAttemptAt).toBe(clock.now() + 1_000);
    expect(changes.at(-1)).toMatchObject({ from: 'HALF_OPEN', to: 'OPEN', reason: 'probe-failed' });
    await clock.advance(999);
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
    await clock.advance(1);
    await expect(breaker.execute(ok)).resolves.toBe('ok');
  });

  it('runs at most halfOpenMaxCalls probes at once and rejects the rest', async () => {
    const { breaker, clock } = setup({ halfOpenMaxCalls: 2 });
    await trip(breaker);
    await clock.advance(1_000);
    const work = [deferred<string>(), deferred<string>()];
    let started = 0;
    const calls = Array.from({ length: 6 }, () => settle(breaker.execute(() => work[started++].promise)));
    expect(started).toBe(2);
    const rejected = await Promise.all(calls.slice(2));
    for (const r of rejected) {
      expect((r as { error: CircuitOpenError }).error).toMatchObject({ state: 'HALF_OPEN', retryAfterMs: 0 });
    }
    work[0].resolve('a');
    await calls[0];
    expect(breaker.getState()).toBe('HALF_OPEN'); // 1 of 2 successes
    // The first probe's slot is used up: successes + running probes never exceed the limit.
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'HALF_OPEN' });
    work[1].resolve('b');
    await calls[1];
    expect(breaker.getState()).toBe('CLOSED');
  });

  it('one failed probe among concurrent probes re-opens; the others are then ignored', async () => {
    const { breaker, clock } = setup({ halfOpenMaxCalls: 3 });
    await trip(breaker);
    await clock.advance(1_000);
    const work = [deferred<string>(), deferred<string>(), deferred<string>()];
    const calls = work.map((w) => settle(breaker.execute(() => w.promise)));
    work[1].reject(serverError());
    await calls[1];
    expect(breaker.getState()).toBe('OPEN');
    work[0].resolve('late');
    work[2].resolve('late');
    await Promise.all(calls);
    expect(breaker.getState()).toBe('OPEN');
  });

  it('a probe that fails with an error that does not count frees its slot', async () => {
    const { breaker, clock } = setup();
    await trip(breaker);
    await clock.advance(1_000);
    const notFound = Object.assign(new Error('not found'), { status: 404 });
    await expect(breaker.execute(() => Promise.reject(notFound))).rejects.toBe(notFound);
    expect(breaker.getState()).toBe('HALF_OPEN');
    await breaker.execute(ok);
    expect(breaker.getState()).toBe('CLOSED');
  });

  it('a call that started while closed does not move a circuit that changed state since', async () => {
    const { breaker, clock } = setup();
    const slow = deferred<string>();
    const pending = settle(breaker.execute(() => slow.promise));
    await trip(breaker);
    await clock.advance(1_000);
    expect(breaker.getState()).toBe('HALF_OPEN');
    slow.resolve('late'); // would close the circuit if it counted as a probe
    await pending;
    expect(breaker.getState()).toBe('HALF_OPEN');
  });
});

describe('CircuitBreaker: timeouts', () => {
  it('rejects with TimeoutError, aborts the signal, counts a failure and ignores a late result', async () => {
    const { breaker, clock } = setup({ timeout: 100, volumeThreshold: 1 });
    const work = deferred<string>();
    let signal: AbortSignal | undefined;
    const promise = settle(
      breaker.execute((s) => {
        signal = s;
        return work.promise;
      }),
    );
    await clock.advance(99);
    expect(signal?.aborted).toBe(false);
    await clock.advance(1);
    const { error } = (await promise) as { error: TimeoutError };
    expect(isTimeoutError(error)).toBe(true);
    expect(error).toMatchObject({ timeoutMs: 100, operation: 'svc' });
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(error);
    expect(breaker.getState()).toBe('OPEN');
    expect(breaker.metrics()).toMatchObject({ timeouts: 1, failures: 1, inFlight: 0 });
    work.resolve('late');
    await clock.advance(0);
    expect(breaker.metrics().totals).toMatchObject({ successes: 0, timeouts: 1 });
  });

  it('withdraws the deadline when the call settles: no timer per call, none left once idle', async () => {
    const { breaker, clock } = setup({ timeout: 1_000, volumeThreshold: 1_000 });
    const work = Array.from({ length: 100 }, () => deferred<string>());
    const calls = work.map((w) => breaker.execute(() => w.promise));
    expect(clock.pendingTimers()).toBe(1); // one shared timer for 100 calls in flight
    work.forEach((w) => w.resolve('done'));
    await Promise.all(calls);
    await clock.advance(1_000); // the shared timer lapses: nothing was due
    expect(clock.pendingTimers()).toBe(0);
    expect(breaker.metrics()).toMatchObject({ timeouts: 0, inFlight: 0 });
    expect(breaker.metrics().totals.successes).toBe(100);
  });

  it('times out each call at its own deadline', async () => {
    const { breaker, clock } = setup({ timeout: 100, volumeThreshold: 1_000 });
    const hang = () => new Promise<string>(() => undefined);
    const first = settle(breaker.execute(hang));
    await clock.advance(50);
    const second = settle(breaker.execute(hang));
    await clock.advance(50);
    expect(isTimeoutError(((await first) as { error: unknown }).error)).toBe(true);
    expect(breaker.metrics().inFlight).toBe(1);
    await clock.advance(50);
    expect(isTimeoutError(((await second) as { error: unknown }).error)).toBe(true);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('gives a function that takes the signal its own AbortController, and one that takes none no signal', async () => {
    const { breaker } = setup({ timeout: 100 });
    const signals: AbortSignal[] = [];
    await breaker.execute((s) => signals.push(s));
    await breaker.execute((s) => signals.push(s));
    expect(signals[0]).toBeInstanceOf(AbortSignal);
    expect(signals[0]).not.toBe(signals[1]);
    let args = -1;
    await breaker.execute(function (...a: unknown[]) {
      args = a.length;
      return 1;
    });
    expect(args).toBe(0);
  });

  it('with timeout 0 arms no timer at all', async () => {
    const { breaker, clock } = setup({ timeout: 0 });
    const work = deferred<string>();
    const call = breaker.execute(() => work.promise);
    expect(clock.pendingTimers()).toBe(0);
    work.resolve('x');
    await expect(call).resolves.toBe('x');
  });

  it('a timed-out probe re-opens the circuit', async () => {
    const { breaker, clock } = setup({ timeout: 100 });
    await trip(breaker);
    await clock.advance(1_000);
    const probe = settle(breaker.execute(() => new Promise(() => undefined)));
    await clock.advance(100);
    expect(isTimeoutError(((await probe) as { error: unknown }).error)).toBe(true);
    expect(breaker.getState()).toBe('OPEN');
  });
});

describe('CircuitBreaker: fallback', () => {
  it('serves when the circuit rejects, with the CircuitOpenError', async () => {
    const { breaker } = setup();
    await trip(breaker);
    const fallback = jest.fn((_e: unknown) => 'cached');
    await expect(breaker.execute(ok, fallback)).resolves.toBe('cached');
    expect(isCircuitOpenError(fallback.mock.calls[0][0])).toBe(true);
  });

  it('serves on a counted failure, with the original error', async () => {
    const { breaker } = setup();
    const error = serverError();
    const fallback = jest.fn(async (_e: unknown) => 'cached');
    await expect(breaker.execute(() => Promise.reject(error), fallback)).resolves.toBe('cached');
    expect(fallback).toHaveBeenCalledWith(error);
  });

  it('serves once on a timeout, never again for the late result', async () => {
    const { breaker, clock } = setup({ timeout: 100 });
    const work = deferred<string>();
    const fallback = jest.fn((_e: unknown) => 'cached');
    const call = breaker.execute(() => work.promise, fallback);
    await clock.advance(100);
    await expect(call).resolves.toBe('cached');
    work.reject(serverError('late'));
    await clock.advance(0);
    expect(fallback).toHaveBeenCalledTimes(1);
    expect(isTimeoutError(fallback.mock.calls[0][0])).toBe(true);
  });

  it('does not serve on an error that does not count: that error passes through unchanged', async () => {
    const { breaker } = setup();
    const notFound = Object.assign(new Error('no such user'), { status: 404 });
    const fallback = jest.fn(() => 'cached');
    await expect(breaker.execute(() => Promise.reject(notFound), fallback)).rejects.toBe(notFound);
    expect(fallback).not.toHaveBeenCalled();
  });

  it("propagates the fallback's own error, thrown or rejected", async () => {
    const { breaker } = setup();
    await trip(breaker);
    const thrown = new Error('fallback broke');
    await expect(
      breaker.execute(ok, () => {
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    await expect(breaker.execute(ok, () => Promise.reject(thrown))).rejects.toBe(thrown);
    const { breaker: b2 } = setup({ timeout: 100 });
    await expect(
      b2.execute(down, () => {
        throw thrown;
      }),
    ).rejects.toBe(thrown);
  });

  it('counts fallbacks in the totals', async () => {
    const { breaker } = setup();
    await breaker.execute(down, () => 'x');
    expect(breaker.metrics().totals.fallbacks).toBe(1);
  });
});

describe('CircuitBreaker: what fn may do', () => {
  it('a synchronous throw rejects with the same error and counts', async () => {
    for (const timeout of [0, 100]) {
      const { breaker } = setup({ timeout, volumeThreshold: 1 });
      const error = new Error('sync');
      await expect(
        breaker.execute(() => {
          throw error;
        }),
      ).rejects.toBe(error);
      expect(breaker.getState()).toBe('OPEN');
    }
  });

  it('non-Error rejections pass through as they are and count', async () => {
    for (const value of ['boom', undefined, null, 42, { code: 'ECONNRESET' }]) {
      const { breaker } = setup({ volumeThreshold: 1 });
      const outcome = await settle(breaker.execute(() => Promise.reject(value)));
      expect(outcome).toEqual({ error: value });
      expect(breaker.getState()).toBe('OPEN');
    }
  });

  it('a plain return value resolves, with and without a timeout', async () => {
    for (const timeout of [0, 100]) {
      const { breaker, clock } = setup({ timeout });
      await expect(breaker.execute(() => 7)).resolves.toBe(7);
      await expect(breaker.execute(() => undefined)).resolves.toBeUndefined();
      expect(breaker.metrics().totals.successes).toBe(2);
      await clock.advance(100);
      expect(clock.pendingTimers()).toBe(0);
    }
  });

  it('accepts a non-native thenable', async () => {
    const { breaker } = setup();
    const thenable = { then: (resolve: (v: number) => void) => resolve(3) } as PromiseLike<number>;
    await expect(breaker.execute(() => thenable)).resolves.toBe(3);
  });

  it('uses a custom isFailure, and counts when isFailure itself throws', async () => {
    const { breaker } = setup({ volumeThreshold: 1, isFailure: (e) => (e as Error).message === 'counts' });
    await settle(breaker.execute(() => Promise.reject(new Error('ignored'))));
    expect(breaker.getState()).toBe('CLOSED');
    expect(breaker.metrics().totals.ignored).toBe(1);
    await settle(breaker.execute(() => Promise.reject(new Error('counts'))));
    expect(breaker.getState()).toBe('OPEN');
    const { breaker: b2 } = setup({
      volumeThreshold: 1,
      isFailure: () => {
        throw new Error('broken classifier');
      },
    });
    await settle(b2.execute(down));
    expect(b2.getState()).toBe('OPEN');
  });
});

describe('CircuitBreaker: manual control', () => {
  it('open() holds the circuit open past resetTimeout until close()', async () => {
    const { breaker, clock, changes } = setup();
    breaker.open();
    await clock.advance(60_000);
    const error = await breaker.execute(ok).catch((e: unknown) => e);
    expect(error).toMatchObject({ state: 'OPEN', retryAfterMs: 1_000 });
    expect(breaker.metrics()).toMatchObject({ forcedOpen: true, nextAttemptAt: undefined });
    breaker.close();
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(changes.map((c) => c.reason)).toEqual(['manual-open', 'manual-close']);
  });

  it('reset() returns to new: closed, empty window and totals', async () => {
    const { breaker } = setup();
    await trip(breaker);
    breaker.reset();
    expect(breaker.getState()).toBe('CLOSED');
    const m = breaker.metrics();
    expect(m).toMatchObject({ calls: 0, failures: 0, disabled: false, forcedOpen: false });
    expect(m.totals).toEqual({
      calls: 0,
      successes: 0,
      failures: 0,
      timeouts: 0,
      ignored: 0,
      rejections: 0,
      slowCalls: 0,
      fallbacks: 0,
    });
    expect(m.latency.count).toBe(0);
  });

  it('disable() lets every call through and never trips; enable() restores it', async () => {
    const { breaker, changes } = setup();
    await trip(breaker);
    breaker.disable();
    expect(breaker.getState()).toBe('CLOSED');
    await run(breaker, 'ffffffff');
    expect(breaker.getState()).toBe('CLOSED');
    expect(breaker.metrics()).toMatchObject({ disabled: true, failures: 8 });
    breaker.enable();
    expect(breaker.metrics()).toMatchObject({ disabled: false, calls: 0 });
    await trip(breaker);
    expect(changes.map((c) => c.reason)).toEqual(['failure-rate', 'disabled', 'failure-rate']);
  });

  it('close() on a closed circuit empties its window', async () => {
    const { breaker } = setup();
    await run(breaker, 'fff');
    breaker.close();
    await run(breaker, 'f');
    expect(breaker.getState()).toBe('CLOSED');
  });
});

describe('CircuitBreaker: events and metrics', () => {
  it('reports each call outcome with its duration', async () => {
    const { breaker, clock } = setup({ timeout: 100, volumeThreshold: 3 });
    const outcomes: string[] = [];
    const durations: number[] = [];
    const dispose = breaker.events.onCallOutcome((e) => {
      outcomes.push(e.outcome);
      durations.push(e.durationMs);
    });
    const first = breaker.execute(async () => {
      await clock.sleep(30);
      return 1;
    });
    await clock.advance(30);
    await first;
    const pending = breaker.execute(() => new Promise(() => undefined)).catch(() => undefined);
    await clock.advance(100);
    await pending;
    await settle(breaker.execute(() => Promise.reject(Object.assign(new Error(), { status: 400 }))));
    await settle(breaker.execute(down));
    await settle(breaker.execute(ok)); // open now
    expect(outcomes).toEqual(['success', 'timeout', 'ignored', 'failure', 'rejected']);
    expect(durations).toEqual([30, 100, 0, 0, 0]);
    dispose();
    await settle(breaker.execute(ok));
    expect(outcomes).toHaveLength(5);
  });

  it('a throwing listener neither breaks the call nor stops other listeners', async () => {
    const clock = new FakeClock();
    const reported: unknown[] = [];
    const { CircuitEvents } = await import('../../src/core/circuit-breaker/events');
    const events = new CircuitEvents((e) => reported.push(e));
    const breaker = new CircuitBreaker('svc', { ...BASE, volumeThreshold: 1 }, { clock, events });
    const seen: string[] = [];
    events.onStateChange(() => {
      throw new Error('listener broke');
    });
    events.onStateChange((e) => seen.push(e.to));
    events.onCallOutcome(() => {
      throw new Error('outcome listener broke');
    });
    await settle(breaker.execute(down));
    expect(breaker.getState()).toBe('OPEN');
    expect(seen).toEqual(['OPEN']);
    expect(reported).toHaveLength(2);
  });

  it('a disposer removes only its own registration, even of a function registered twice', async () => {
    const { breaker } = setup({ volumeThreshold: 1 });
    const states: string[] = [];
    const outcomes: string[] = [];
    const onState = (e: CircuitStateChange) => states.push(e.to);
    const onOutcome = (e: { outcome: string }) => outcomes.push(e.outcome);
    const offState1 = breaker.events.onStateChange(onState);
    breaker.events.onStateChange(onState);
    const offOutcome1 = breaker.events.onCallOutcome(onOutcome);
    breaker.events.onCallOutcome(onOutcome);
    offState1();
    offState1(); // a second call removes nothing more
    offOutcome1();
    offOutcome1();
    await settle(breaker.execute(down));
    expect(states).toEqual(['OPEN']);
    expect(outcomes).toEqual(['failure']);
  });

  it('gives window counts, totals, last change and latency percentiles', async () => {
    const { breaker, clock } = setup({ volumeThreshold: 100 });
    for (let i = 1; i <= 100; i++) {
      const call = breaker.execute(async () => {
        await clock.sleep(i);
        return i;
      });
      await clock.advance(i);
      await call;
    }
    await settle(breaker.execute(down));
    const m = breaker.metrics();
    expect(m).toMatchObject({ name: 'svc', state: 'CLOSED', calls: 101, failures: 1, windowMs: 10_000 });
    expect(m.failureRate).toBeCloseTo(1 / 101);
    expect(m.latency.count).toBe(101);
    expect(m.latency.max).toBe(100);
    expect(m.latency.p50).toBeGreaterThanOrEqual(50);
    expect(m.latency.p50).toBeLessThanOrEqual(56);
    expect(m.latency.p99).toBeGreaterThanOrEqual(99);
    expect(m.latency.p99).toBeLessThanOrEqual(100);
    expect(m.lastStateChange).toBeUndefined();
  });
});

describe('CircuitBreaker: a busy, healthy circuit', () => {
  it('counts every success in the window, though only a sample is timed for latency', async () => {
    const { breaker, clock } = setup({ volumeThreshold: 10_000 });
    for (let i = 0; i < 1_000; i++) await breaker.execute(ok);
    expect(breaker.metrics()).toMatchObject({ calls: 1_000, failures: 0 });
    // The first 256 calls are timed, then one in 32.
    expect(breaker.metrics().latency.count).toBe(256 + (Math.floor(1_000 / 32) - 256 / 32));
    // They fall out of the window like any other call.
    await clock.advance(10_000);
    expect(breaker.metrics().calls).toBe(0);
  });

  // Regression (review): successes from before an idle spell longer than the window must not be
  // counted in the current bucket, neither to reach the volume threshold nor to dilute the rate.
  it('does not open below the volume threshold after an idle spell', async () => {
    const { breaker, clock } = setup({ volumeThreshold: 10, timeout: 0 });
    for (let i = 0; i < 261; i++) await breaker.execute(ok);
    await clock.advance(120_000);
    await run(breaker, 'fffff');
    expect(breaker.metrics()).toMatchObject({ state: 'CLOSED', calls: 5, failures: 5 });
  });

  it('still opens when only failures are in the window after an idle spell', async () => {
    const { breaker, clock } = setup({ volumeThreshold: 10, timeout: 0 });
    for (let i = 0; i < 287; i++) await breaker.execute(ok);
    await clock.advance(120_000);
    await run(breaker, 'ffffffffff');
    expect(breaker.getState()).toBe('OPEN');
  });

  it('reset() leaves a window that is really empty', async () => {
    const { breaker } = setup({ volumeThreshold: 10_000 });
    for (let i = 0; i < 276; i++) await breaker.execute(ok);
    breaker.reset();
    expect(breaker.metrics()).toMatchObject({ calls: 0, totals: { calls: 0 } });
  });

  it('handles throws, plain values, thenables and rejections on the untimed path too', async () => {
    const { breaker } = setup({ volumeThreshold: 10_000 });
    for (let i = 0; i < 300; i++) await breaker.execute(ok); // past the young calls
    const thrown = new Error('sync');
    await expect(
      breaker.execute(() => {
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    breaker.close(); // an empty window again, so that the next calls take the untimed path
    await expect(breaker.execute(() => 5)).resolves.toBe(5);
    const thenable = { then: (resolve: (v: number) => void) => resolve(6) } as PromiseLike<number>;
    await expect(breaker.execute(() => thenable)).resolves.toBe(6);
    const notFound = Object.assign(new Error('gone'), { status: 404 });
    await expect(breaker.execute(() => Promise.reject(notFound))).rejects.toBe(notFound);
    const m = breaker.metrics();
    expect(m.inFlight).toBe(0);
    expect(m.totals).toMatchObject({ successes: 302, failures: 1, ignored: 1 });
  });

  it('times every call again once the window holds a failure', async () => {
    const { breaker } = setup({ volumeThreshold: 10_000 });
    for (let i = 0; i < 300; i++) await breaker.execute(ok);
    const before = breaker.metrics().latency.count;
    await settle(breaker.execute(down)); // itself timed or not, one in 32
    const afterFailure = breaker.metrics().latency.count;
    for (let i = 0; i < 50; i++) await breaker.execute(ok);
    expect(afterFailure - before).toBeLessThanOrEqual(1);
    expect(breaker.metrics().latency.count - afterFailure).toBe(50);
  });
});

describe('CircuitBreaker: slow calls', () => {
  it('opens on the slow-call rate, and a slow probe re-opens', async () => {
    const { breaker, clock, changes } = setup({ slowCallThreshold: 50, slowCallRate: 0.5 });
    const slow = async () => {
      await clock.sleep(50);
      return 'slow';
    };
    const call = async (fn: () => Promise<string>) => {
      const p = breaker.execute(fn);
      await clock.advance(50);
      return p;
    };
    await call(slow);
    await call(ok);
    await call(slow);
    expect(breaker.getState()).toBe('CLOSED');
    await call(ok); // 2 slow of 4 = 50 %
    expect(breaker.getState()).toBe('OPEN');
    expect(changes[0].reason).toBe('slow-call-rate');
    await clock.advance(1_000);
    await call(slow);
    expect(breaker.getState()).toBe('OPEN');
    expect(breaker.metrics().totals.slowCalls).toBe(3);
  });
});

// Regression (review): with `timeout: 0` a probe that never answers must not keep the circuit half-open forever.
describe('CircuitBreaker: a probe that never answers', () => {
  it('re-opens after resetTimeout, then lets a new probe close the circuit', async () => {
    const { breaker, clock, changes } = setup();
    await trip(breaker);
    await clock.advance(1_000);
    const hung = breaker.execute(() => new Promise<string>(() => undefined)); // the probe, never settles
    expect(breaker.getState()).toBe('HALF_OPEN');
    await clock.advance(500);
    await expect(breaker.execute(ok)).rejects.toMatchObject({ name: 'CircuitOpenError', state: 'HALF_OPEN' });
    await clock.advance(500); // resetTimeout since half-open: the stuck probe counts as failed
    await expect(breaker.execute(ok)).rejects.toMatchObject({ name: 'CircuitOpenError', state: 'OPEN' });
    expect(changes.at(-1)).toMatchObject({ from: 'HALF_OPEN', to: 'OPEN', reason: 'probe-stuck' });
    await clock.advance(1_000);
    await expect(breaker.execute(ok)).resolves.toBe('ok'); // a fresh probe
    expect(breaker.getState()).toBe('CLOSED');
    void hung;
  });
});

describe('CircuitBreaker: when a probe counts as stuck', () => {
  it('a slow but healthy probe closes the circuit with the default timeouts (60 s / 30 s)', async () => {
    const clock = new FakeClock();
    const breaker = new CircuitBreaker('slow', {}, { clock }); // every default
    const changes: CircuitStateChange[] = [];
    breaker.events.onStateChange((e) => changes.push(e));
    for (let i = 0; i < 10; i++) await settle(breaker.execute(down));
    expect(breaker.getState()).toBe('OPEN');
    await clock.advance(30_000);
    const probe = breaker.execute(() => clock.sleep(45_000).then(() => 'fine'));
    await clock.advance(30_000); // 30 s into HALF_OPEN, the probe is still within its 60 s timeout
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'HALF_OPEN' });
    await clock.advance(15_000);
    await expect(probe).resolves.toBe('fine');
    expect(breaker.getState()).toBe('CLOSED');
    expect(changes.map((c) => c.reason)).toEqual(['failure-rate', 'reset-timeout', 'probe-succeeded']);
  });

  it('with timeout 0 and an externalTimeout, a probe is stuck only once the externalTimeout has passed', async () => {
    const { breaker, clock, changes } = setup({ externalTimeout: 4_000 }); // resetTimeout 1 s, timeout 0
    await trip(breaker);
    await clock.advance(1_000);
    const probe = deferred<string>();
    const running = breaker.execute(() => probe.promise);
    await clock.advance(3_999); // past resetTimeout, inside the caller's timeout
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'HALF_OPEN' });
    await clock.advance(1);
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'OPEN' });
    expect(changes.at(-1)?.reason).toBe('probe-stuck');
    probe.resolve('late');
    await running;
  });

  it('with timeout 0, measures resetTimeout from the probe’s own start, not from half-open', async () => {
    const { breaker, clock, changes } = setup(); // resetTimeout 1 s, timeout 0
    await trip(breaker);
    await clock.advance(1_800); // half-open since 800 ms; the probe comes only now
    const probe = deferred<string>();
    const running = breaker.execute(() => probe.promise);
    await clock.advance(900); // 1.7 s into HALF_OPEN, 0.9 s into the probe
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'HALF_OPEN' });
    expect(changes.at(-1)?.reason).toBe('reset-timeout');
    await clock.advance(100); // now the probe has run for resetTimeout
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'OPEN' });
    expect(changes.at(-1)?.reason).toBe('probe-stuck');
    probe.resolve('late');
    await running;
    expect(breaker.getState()).toBe('OPEN'); // the late success is from an older generation
  });

  it('with a timeout, a probe that never answers re-opens the circuit when that timeout passes', async () => {
    const { breaker, clock, changes } = setup({ timeout: 5_000 }); // longer than resetTimeout
    await trip(breaker);
    await clock.advance(1_000);
    const hung = settle(breaker.execute(() => new Promise<string>(() => undefined)));
    await clock.advance(4_999);
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'HALF_OPEN' });
    await clock.advance(1);
    expect(await hung).toEqual({ error: expect.any(TimeoutError) });
    expect(breaker.getState()).toBe('OPEN');
    expect(changes.at(-1)).toMatchObject({ from: 'HALF_OPEN', to: 'OPEN' });
  });
});

describe('CircuitBreaker: calls from before a manual reset', () => {
  it.each(['reset', 'close'] as const)(
    '%s() on a closed circuit: calls started before it file nothing into the new window',
    async (command) => {
      const { breaker } = setup({ volumeThreshold: 5 });
      const gate = deferred<never>();
      const before = Array.from({ length: 5 }, () => settle(breaker.execute(() => gate.promise)));
      breaker[command]();
      gate.reject(serverError('old'));
      await Promise.all(before);
      expect(breaker.metrics()).toMatchObject({ state: 'CLOSED', calls: 0, failures: 0, inFlight: 0 });
      // The new window counts new calls as usual.
      await run(breaker, 'fffff');
      expect(breaker.getState()).toBe('OPEN');
    },
  );

  it('enable() likewise starts a window that older calls cannot reach', async () => {
    const { breaker } = setup({ volumeThreshold: 5 });
    breaker.disable();
    const gate = deferred<never>();
    const before = Array.from({ length: 5 }, () => settle(breaker.execute(() => gate.promise)));
    breaker.enable();
    gate.reject(serverError('old'));
    await Promise.all(before);
    expect(breaker.metrics()).toMatchObject({ state: 'CLOSED', calls: 0 });
  });
});

describe("CircuitBreaker: another circuit's CircuitOpenError", () => {
  const innerOpen = () => Promise.reject(new CircuitOpenError('inner', 'OPEN', 5_000));

  it('is neither a failure nor a success: it passes through, uncounted and without the fallback', async () => {
    const { breaker } = setup();
    const fallback = jest.fn(() => 'fallback');
    for (let i = 0; i < 10; i++) {
      await expect(breaker.execute(innerOpen, fallback)).rejects.toMatchObject({ circuit: 'inner' });
    }
    expect(fallback).not.toHaveBeenCalled();
    expect(breaker.metrics()).toMatchObject({ state: 'CLOSED', calls: 0, failures: 0 });
    expect(breaker.metrics().totals).toMatchObject({ failures: 0, successes: 0, ignored: 10 });
  });

  it('wins over a custom isFailure that would count it', async () => {
    const { breaker } = setup({ isFailure: () => true });
    for (let i = 0; i < 10; i++) await settle(breaker.execute(innerOpen));
    expect(breaker.metrics()).toMatchObject({ state: 'CLOSED', calls: 0 });
  });

  it('a probe that gets one frees its slot without deciding', async () => {
    const { breaker, clock } = setup();
    await trip(breaker);
    await clock.advance(1_000);
    await settle(breaker.execute(innerOpen));
    expect(breaker.getState()).toBe('HALF_OPEN');
    await expect(breaker.execute(ok)).resolves.toBe('ok'); // the slot is free: a new probe
    expect(breaker.getState()).toBe('CLOSED');
  });
});

describe('CircuitBreaker: timeouts and aborts from outside', () => {
  it.each([
    ['our TimeoutError (a route’s total timeout)', () => new TimeoutError(100, 'GET /x')],
    ["AbortSignal.timeout()'s DOMException", () => new DOMException('timed out', 'TimeoutError')],
  ])('a rejection with %s counts as a timeout failure', async (_label, make) => {
    const { breaker } = setup({ volumeThreshold: 2 });
    const outcomes: string[] = [];
    breaker.events.onCallOutcome((e) => outcomes.push(e.outcome));
    await settle(breaker.execute(() => Promise.reject(make())));
    expect(breaker.metrics()).toMatchObject({ calls: 1, failures: 1, timeouts: 1 });
    expect(breaker.metrics().totals).toMatchObject({ failures: 1, timeouts: 1 });
    expect(outcomes).toEqual(['timeout']);
    await settle(breaker.execute(() => Promise.reject(make())));
    expect(breaker.getState()).toBe('OPEN');
  });

  it("the caller's abort (AbortError) is not counted, and frees a probe's slot", async () => {
    const { breaker, clock } = setup();
    const abort = () => Promise.reject(new DOMException('This operation was aborted', 'AbortError'));
    for (let i = 0; i < 10; i++) await settle(breaker.execute(abort));
    expect(breaker.metrics()).toMatchObject({ state: 'CLOSED', calls: 0, failures: 0 });
    expect(breaker.metrics().totals).toMatchObject({ ignored: 10, failures: 0 });
    await trip(breaker);
    await clock.advance(1_000);
    await settle(breaker.execute(abort));
    expect(breaker.getState()).toBe('HALF_OPEN');
    await breaker.execute(ok);
    expect(breaker.getState()).toBe('CLOSED');
  });
});
