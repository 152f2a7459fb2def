import fc from 'fast-check';
import { FakeClock } from '../../src/core/common/clock';
import {
  CircuitOpenError,
  isReliabilityConfigError,
  isTimeoutError,
  TimeoutError,
} from '../../src/core/common/errors';
import { RetryBudget } from '../../src/core/retry/budget';
import {
  createRetryPolicy,
  createRetryStats,
  getRetryAttempts,
  isRetryPolicy,
  retry,
  retryAfterJitterMs,
  RetryEvent,
} from '../../src/core/retry/retry';
import { failingThen, watch } from '../support/retry-settle';

const noJitter = { baseDelay: 100, maxDelay: 10_000, backoffMultiplier: 2, jitter: 'none' as const };
const transient = (message = 'transient') => Object.assign(new Error(message), { code: 'ECONNRESET' });

describe('retry(): first attempt', () => {
  it('returns the value of a first-try success and passes (1, signal)', async () => {
    const clock = new FakeClock();
    const stats = createRetryStats();
    const { fn, calls } = failingThen([], 'ok');
    await expect(retry(fn, { stats }, clock)).resolves.toBe('ok');
    expect(calls).toHaveLength(1);
    expect(calls[0].attempt).toBe(1);
    expect(calls[0].signal).toBeInstanceOf(AbortSignal);
    expect(calls[0].signal.aborted).toBe(false);
    expect(stats).toMatchObject({ operations: 1, attempts: 1, firstTrySuccesses: 1, successesAfterRetry: 0 });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('accepts synchronous functions, values and throws alike', async () => {
    const clock = new FakeClock();
    await expect(retry(() => 7, {}, clock)).resolves.toBe(7);
    const error = Object.assign(new Error('bad request'), { status: 400 });
    await expect(
      retry(
        () => {
          throw error;
        },
        {},
        clock,
      ),
    ).rejects.toBe(error);
  });

  it("passes the caller's own signal through when there is no attempt timeout", async () => {
    const controller = new AbortController();
    const { fn, calls } = failingThen([], 1);
    await retry(fn, { signal: controller.signal }, new FakeClock());
    expect(calls[0].signal).toBe(controller.signal);
  });
});

describe('retry(): backoff and outcome', () => {
  it('waits min(maxDelay, base * m^(n-1)) before each retry, then returns the value', async () => {
    const clock = new FakeClock();
    const stats = createRetryStats();
    const { fn, calls } = failingThen([transient(), transient(), transient()], 'done');
    const run = watch(retry(fn, { ...noJitter, maxAttempts: 4, stats }, clock));
    await clock.advance(0);
    expect(calls).toHaveLength(1);
    await clock.advance(99);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    await clock.advance(199);
    expect(calls).toHaveLength(2);
    await clock.advance(1);
    expect(calls).toHaveLength(3);
    await clock.advance(400);
    expect(run).toEqual({ done: true, value: 'done' });
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
    expect(stats).toMatchObject({
      operations: 1,
      attempts: 4,
      firstTrySuccesses: 0,
      successesAfterRetry: 1,
      totalDelayMs: 700,
    });
  });

  it('on exhaustion rethrows the last error unchanged, with a non-enumerable attempt count', async () => {
    const clock = new FakeClock();
    class UpstreamError extends Error {
      readonly code = 'ECONNRESET';
    }
    const errors = [new UpstreamError('first'), new UpstreamError('second'), new UpstreamError('last')];
    const stats = createRetryStats();
    const { fn } = failingThen(errors, 'never');
    const run = watch(retry(fn, { ...noJitter, maxAttempts: 3, stats }, clock));
    await clock.advance(10_000);
    expect(run.done).toBe(true);
    expect(run.error).toBe(errors[2]);
    expect(run.error).toBeInstanceOf(UpstreamError);
    expect((run.error as UpstreamError).code).toBe('ECONNRESET');
    expect(getRetryAttempts(run.error)).toBe(3);
    expect(Object.keys(run.error as object)).toEqual(['code']);
    expect(JSON.stringify(run.error)).toBe('{"code":"ECONNRESET"}');
    expect(getRetryAttempts(errors[0])).toBeUndefined();
    expect(stats).toMatchObject({ exhaustions: 1, attempts: 3, totalDelayMs: 300 });
  });

  it('rethrows a non-retryable error at once, without a timer', async () => {
    const clock = new FakeClock();
    const stats = createRetryStats();
    const error = Object.assign(new Error('Not Found'), { status: 404 });
    const { fn, calls } = failingThen([error], 'x');
    const run = watch(retry(fn, { ...noJitter, stats }, clock));
    await clock.advance(0);
    expect(run).toEqual({ done: true, error });
    expect(calls).toHaveLength(1);
    expect(getRetryAttempts(error)).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
    expect(stats).toMatchObject({ nonRetryableFailures: 1, exhaustions: 0 });
  });

  it('never retries a CircuitOpenError, even when retryIf says yes', async () => {
    const clock = new FakeClock();
    const error = new CircuitOpenError('payments', 'OPEN', 5_000);
    const { fn, calls } = failingThen([error], 'x');
    const run = watch(retry(fn, { ...noJitter, retryIf: () => true }, clock));
    await clock.advance(10_000);
    expect(run.error).toBe(error);
    expect(calls).toHaveLength(1);
  });

  it('maxAttempts 1 calls once', async () => {
    const clock = new FakeClock();
    const { fn, calls } = failingThen([transient()], 'x');
    const run = watch(retry(fn, { maxAttempts: 1 }, clock));
    await clock.advance(0);
    expect(run.done).toBe(true);
    expect(calls).toHaveLength(1);
    expect(getRetryAttempts(run.error)).toBe(1);
  });

  it('gives retryIf the error and the failed attempt number; a throwing retryIf means no retry', async () => {
    const clock = new FakeClock();
    const seen: Array<[unknown, number]> = [];
    const errors = [transient('a'), transient('b'), transient('c')];
    const { fn } = failingThen(errors, 'x');
    const run = watch(
      retry(
        fn,
        {
          ...noJitter,
          maxAttempts: 5,
          retryIf: (e, attempt) => {
            seen.push([e, attempt]);
            if (attempt === 3) throw new Error('classifier bug');
            return true;
          },
        },
        clock,
      ),
    );
    await clock.advance(10_000);
    expect(seen).toEqual([
      [errors[0], 1],
      [errors[1], 2],
      [errors[2], 3],
    ]);
    expect(run.error).toBe(errors[2]);
  });

  it('calls onRetry before each backoff with { error, attempt, delayMs } and ignores its exceptions', async () => {
    const clock = new FakeClock();
    clock.queueRandom(0.5, 0.25);
    const events: RetryEvent[] = [];
    const errors = [transient('a'), transient('b')];
    const { fn } = failingThen(errors, 'ok');
    const run = watch(
      retry(
        fn,
        {
          ...noJitter,
          jitter: 'full',
          maxAttempts: 3,
          onRetry: (e) => {
            events.push(e);
            throw new Error('broken telemetry');
          },
        },
        clock,
      ),
    );
    await clock.advance(10_000);
    expect(run.value).toBe('ok');
    expect(events).toEqual([
      { error: errors[0], attempt: 1, delayMs: 50 },
      { error: errors[1], attempt: 2, delayMs: 50 },
    ]);
  });

  it('uses a delay the error asked for (retryAfterMs) beyond maxDelay, up to maxRetryAfter, with a positive jitter', async () => {
    const clock = new FakeClock();
    const delays: number[] = [];
    const errors = [
      Object.assign(transient(), { wait: 2_500 }),
      Object.assign(transient(), { wait: 60_000 }),
      Object.assign(transient(), { wait: 60_001 }),
    ];
    const { fn, calls } = failingThen(errors, 'ok');
    // The Retry-After jitter's draws (no backoff jitter draws here).
    clock.queueRandom(1, 0.5);
    const run = watch(
      retry(
        fn,
        {
          ...noJitter,
          maxDelay: 5_000,
          maxRetryAfter: 60_000,
          maxAttempts: 4,
          retryAfterMs: (e) => (e as { wait: number }).wait,
          onRetry: (e) => delays.push(e.delayMs),
        },
        clock,
      ),
    );
    await clock.advance(2_750 + 60_500);
    // 2.5 s + 1 x min(1 s, 250 ms); 60 s + 0.5 x 1 s; then 60.001 s asked: more than maxRetryAfter.
    expect(delays).toEqual([2_750, 60_500]);
    expect(run.error).toBe(errors[2]);
    expect(calls).toHaveLength(3);
  });

  it('gives up at once, without taking from the budget, when the asked wait ends after deadlineAt', async () => {
    const clock = new FakeClock();
    const stats = createRetryStats();
    const budgetState = new RetryBudget(clock);
    const asked = Object.assign(transient(), { wait: 30_000 });
    const { fn, calls } = failingThen([asked], 'ok');
    const options = {
      ...noJitter,
      maxAttempts: 4,
      retryAfterMs: (e: unknown) => (e as { wait: number }).wait,
      deadlineAt: clock.now() + 5_000,
      stats,
      budgetState,
    };
    const run = watch(retry(fn, options, clock));
    await clock.advance(0);
    expect(run.error).toBe(asked);
    expect(getRetryAttempts(asked)).toBe(1);
    expect(calls).toHaveLength(1);
    expect(stats).toMatchObject({ nonRetryableFailures: 1, budgetRejections: 0, totalDelayMs: 0 });
    expect(budgetState.snapshot()).toEqual({ calls: 1, retries: 0 });
    // A wait that ends before the deadline is taken, and so is a plain backoff (nothing was asked).
    const near = Object.assign(transient(), { wait: 4_000 });
    const second = failingThen([near, transient()], 'ok');
    const waited = watch(retry(second.fn, { ...options, deadlineAt: clock.now() + 5_000 }, clock));
    await clock.advance(4_000 + 400 + 200);
    expect(waited.value).toBe('ok');
    expect(second.calls).toHaveLength(3);
  });

  it('gives up at once, without taking from the budget, when a plain backoff ends after deadlineAt', async () => {
    const clock = new FakeClock();
    const stats = createRetryStats();
    const budgetState = new RetryBudget(clock);
    const error = transient();
    const { fn, calls } = failingThen([error], 'ok');
    const options = { ...noJitter, baseDelay: 20_000, maxDelay: 30_000, maxAttempts: 4, stats, budgetState };
    const run = watch(retry(fn, { ...options, deadlineAt: clock.now() + 5_000 }, clock));
    await clock.advance(0);
    expect(run.error).toBe(error);
    expect(getRetryAttempts(error)).toBe(1);
    expect(calls).toHaveLength(1);
    expect(stats).toMatchObject({ nonRetryableFailures: 1, budgetRejections: 0, totalDelayMs: 0 });
    expect(budgetState.snapshot()).toEqual({ calls: 1, retries: 0 });
  });

  it('gives up at once when the asked wait fits before deadlineAt but its jitter does not', async () => {
    const clock = new FakeClock();
    clock.queueRandom(0.99); // 4.9 s asked + 485 ms of jitter
    const stats = createRetryStats();
    const budgetState = new RetryBudget(clock);
    const asked = Object.assign(transient(), { wait: 4_900 });
    const { fn, calls } = failingThen([asked], 'ok');
    const options = {
      ...noJitter,
      maxAttempts: 4,
      retryAfterMs: (e: unknown) => (e as { wait: number }).wait,
      deadlineAt: clock.now() + 5_000,
      stats,
      budgetState,
    };
    const run = watch(retry(fn, options, clock));
    await clock.advance(0);
    expect(run.error).toBe(asked);
    expect(calls).toHaveLength(1);
    expect(stats).toMatchObject({ nonRetryableFailures: 1, budgetRejections: 0, totalDelayMs: 0 });
    expect(budgetState.snapshot()).toEqual({ calls: 1, retries: 0 });
  });

  it('rejects a deadlineAt that is not a time, naming it', () => {
    expect(() => createRetryPolicy({ deadlineAt: NaN })).toThrow('retry["default"].deadlineAt=NaN');
  });

  it('retryAfterJitterMs adds up to 10 % of the asked delay, at most 1 s, never less than nothing', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (asked, r) => {
          const jitter = retryAfterJitterMs(asked, r);
          return jitter >= 0 && jitter <= Math.min(1_000, asked * 0.1);
        },
      ),
    );
  });
});

describe('retry(): abort', () => {
  it('an abort during a backoff wakes at once and rejects with the abort reason', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const stats = createRetryStats();
    const { fn, calls } = failingThen([transient()], 'x');
    const run = watch(retry(fn, { ...noJitter, baseDelay: 5_000, signal: controller.signal, stats }, clock));
    await clock.advance(1_000);
    expect(run.done).toBe(false);
    expect(clock.pendingTimers()).toBe(1);
    const reason = new Error('client went away');
    controller.abort(reason);
    await clock.advance(0);
    expect(run).toEqual({ done: true, error: reason });
    expect(clock.pendingTimers()).toBe(0);
    expect(calls).toHaveLength(1);
    expect(stats).toMatchObject({ aborts: 1, totalDelayMs: 1_000 });
  });

  it('an already aborted signal rejects with its reason without calling fn', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    const fn = jest.fn();
    await expect(retry(fn, { signal: controller.signal }, new FakeClock())).rejects.toThrow('gone');
    expect(fn).not.toHaveBeenCalled();
  });

  it("never retries after the caller's abort, whatever retryIf says", async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const fn = jest.fn(async (_attempt: number, signal: AbortSignal) => {
      controller.abort();
      throw signal.reason;
    });
    const run = watch(retry(fn, { retryIf: () => true, signal: controller.signal }, clock));
    await clock.advance(60_000);
    expect(run.done).toBe(true);
    expect((run.error as Error).name).toBe('AbortError');
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('retry(): attempt timeout', () => {
  it("times out each attempt, aborts that attempt's signal and retries the TimeoutError", async () => {
    const clock = new FakeClock();
    const signals: AbortSignal[] = [];
    const fn = (attempt: number, signal: AbortSignal) => {
      signals.push(signal);
      return attempt < 3 ? new Promise<string>(() => undefined) : Promise.resolve('third time');
    };
    const run = watch(retry(fn, { ...noJitter, maxAttempts: 3, attemptTimeout: 1_000, name: 'slow' }, clock));
    await clock.advance(1_000);
    expect(signals[0].aborted).toBe(true);
    expect(isTimeoutError(signals[0].reason)).toBe(true);
    await clock.advance(100 + 1_000 + 200);
    expect(run).toEqual({ done: true, value: 'third time' });
    expect(signals).toHaveLength(3);
    expect(signals[2].aborted).toBe(false);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('rethrows the last TimeoutError when every attempt times out', async () => {
    const clock = new FakeClock();
    const run = watch(
      retry(() => new Promise(() => undefined), { ...noJitter, maxAttempts: 2, attemptTimeout: 50 }, clock),
    );
    await clock.advance(50 + 100 + 50);
    expect(run.error).toBeInstanceOf(TimeoutError);
    expect(getRetryAttempts(run.error)).toBe(2);
  });
});

describe('retry(): options', () => {
  it('rejects invalid options with a ReliabilityConfigError naming the field and value', async () => {
    const clock = new FakeClock();
    const fn = jest.fn();
    const error = await retry(
      fn,
      { maxAttempts: 0, baseDelay: '5' as unknown as number, name: 'x' },
      clock,
    ).catch((e: unknown) => e);
    expect(isReliabilityConfigError(error)).toBe(true);
    expect((error as Error).message).toContain('retry["x"].maxAttempts=0');
    expect((error as Error).message).toContain('retry["x"].baseDelay="5"');
    expect(fn).not.toHaveBeenCalled();
    expect(() => createRetryPolicy({ jitter: 'bogus' as never })).toThrow(
      /jitter="bogus": must be one of full/,
    );
    expect(() => createRetryPolicy({ budget: { ratio: -1 } })).toThrow(/budget/);
  });

  it('caps every duration option at 2^31-1 ms, naming the field and the value', () => {
    for (const key of ['baseDelay', 'maxDelay', 'attemptTimeout', 'maxRetryAfter'] as const) {
      expect(() => createRetryPolicy({ [key]: 2_147_483_647, name: 'x' })).not.toThrow();
      expect(() => createRetryPolicy({ [key]: 3_000_000_000, name: 'x' })).toThrow(
        `retry["x"].${key}=3000000000: must be a non-negative number of milliseconds up to 2147483647`,
      );
    }
    expect(() => createRetryPolicy({ budget: { windowMs: 3_000_000_000 } })).toThrow(/budget/);
  });

  it('merges over a base policy and keeps the base for missing fields', () => {
    const base = createRetryPolicy({ maxAttempts: 5, baseDelay: 10, name: 'base' });
    const merged = createRetryPolicy({ maxDelay: 20 }, base);
    expect(isRetryPolicy(merged)).toBe(true);
    expect(merged).toMatchObject({ maxAttempts: 5, baseDelay: 10, maxDelay: 20, name: 'base' });
    expect(createRetryPolicy({ budget: false }, base).budget).toBeUndefined();
    expect(createRetryPolicy({ budget: { ratio: 0.5 } }, base).budget).toEqual({
      ratio: 0.5,
      minPerSecond: 5,
      windowMs: 10_000,
    });
  });

  it('applies a shared budget state: retries beyond it return the last error at once', async () => {
    const clock = new FakeClock();
    const budgetState = new RetryBudget(clock, 10_000);
    const stats = createRetryStats();
    const policy = { ...noJitter, baseDelay: 0, budget: { ratio: 0, minPerSecond: 0.1 }, budgetState, stats };
    // Reserve: 0.1/s over 10 s = 1 retry in the window.
    const first = watch(retry(failingThen([transient(), transient()], 'a').fn, policy, clock));
    await clock.advance(0);
    expect(first.done).toBe(true);
    expect(stats).toMatchObject({ attempts: 2, budgetRejections: 1 });
    expect(getRetryAttempts(first.error)).toBe(2);
  });
});
