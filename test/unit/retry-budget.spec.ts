import { Clock, CoarseClock, FakeClock } from '../../src/core/common/clock';
import { budgetClockResolutionMs, RetryBudget, RetryBudgetLimits } from '../../src/core/retry/budget';
import { createRetryStats, getRetryAttempts, retry } from '../../src/core/retry/retry';
import { watch } from '../support/retry-settle';

const limits: RetryBudgetLimits = { ratio: 0.2, minPerSecond: 5, windowMs: 10_000 };
const connectionReset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

describe('RetryBudget', () => {
  it('allows ratio x calls + minPerSecond x window seconds retries, then refuses', () => {
    const clock = new FakeClock();
    const budget = new RetryBudget(clock, limits.windowMs);
    for (let i = 0; i < 100; i++) budget.recordCall();
    // 0.2 * 100 + 5 * 10 = 70
    let granted = 0;
    while (budget.tryAcquire(limits)) granted++;
    expect(granted).toBe(70);
    expect(budget.snapshot()).toEqual({ calls: 100, retries: 70 });
  });

  it('forgets calls and retries that left the window', async () => {
    const clock = new FakeClock();
    const budget = new RetryBudget(clock, limits.windowMs);
    const small = { ...limits, minPerSecond: 0 };
    for (let i = 0; i < 50; i++) budget.recordCall();
    let granted = 0;
    while (budget.tryAcquire(small)) granted++;
    expect(granted).toBe(10);
    await clock.advance(5_000);
    expect(budget.tryAcquire(small)).toBe(false);
    await clock.advance(5_000);
    // Both the 50 calls and the 10 retries have expired: nothing to retry against.
    expect(budget.snapshot()).toEqual({ calls: 0, retries: 0 });
    expect(budget.tryAcquire(small)).toBe(false);
    for (let i = 0; i < 10; i++) budget.recordCall();
    expect(budget.tryAcquire(small)).toBe(true);
    expect(budget.tryAcquire(small)).toBe(true);
    expect(budget.tryAcquire(small)).toBe(false);
  });

  it('slides bucket by bucket: calls from 9 s ago still count, from 11 s ago not', async () => {
    const clock = new FakeClock(0);
    const budget = new RetryBudget(clock, 10_000);
    for (let i = 0; i < 64; i++) budget.recordCall();
    await clock.advance(9_000);
    expect(budget.snapshot().calls).toBe(64);
    await clock.advance(2_000);
    expect(budget.snapshot().calls).toBe(0);
  });

  it('files each call at its own time: calls before an idle spell are not counted as recent', async () => {
    const clock = new FakeClock(0);
    const strict = { ratio: 0.2, minPerSecond: 0, windowMs: 10_000 };
    const budget = new RetryBudget(clock, strict.windowMs);
    // 63 calls, then an hour of silence: none of them is in the window any more.
    for (let i = 0; i < 63; i++) budget.recordCall();
    await clock.advance(3_600_000);
    for (let i = 0; i < 30; i++) budget.recordCall();
    expect(budget.snapshot().calls).toBe(30);
    let granted = 0;
    while (budget.tryAcquire(strict)) granted++;
    expect(granted).toBe(6);
  });

  it('files calls spread over the window under their own buckets, losing none', async () => {
    const clock = new FakeClock(0);
    const budget = new RetryBudget(clock, 10_000);
    for (let second = 0; second < 10; second++) {
      for (let i = 0; i < 7; i++) budget.recordCall();
      await clock.advance(1_000);
    }
    // At t = 10 s the calls of second 0 left the window; the other 9 seconds remain.
    expect(budget.snapshot().calls).toBe(63);
    await clock.advance(4_000);
    expect(budget.snapshot().calls).toBe(35);
  });

  it('after the wall clock steps back more than a bucket, calls still leave the window', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const budget = new RetryBudget(clock, { ratio: 0.2, minPerSecond: 0, windowMs: 10_000 });
    for (let i = 0; i < 100; i++) budget.recordCall();
    await clock.advance(-3_600_000); // NTP stepped the clock back an hour
    // The calls from before the step are still recent: they count once, then age out.
    expect(budget.snapshot().calls).toBe(100);
    for (let minute = 0; minute < 59; minute++) {
      await clock.advance(60_000);
      for (let i = 0; i < 100; i++) budget.recordCall();
      // Only this minute's burst is in the 10 s window, not every burst since the step.
      expect(budget.snapshot().calls).toBe(100);
    }
    await clock.advance(10_000);
    expect(budget.snapshot()).toEqual({ calls: 0, retries: 0 });
    // A clock a few ms behind (within a bucket) files into the current bucket.
    budget.recordCall();
    await clock.advance(-5);
    budget.recordCall();
    expect(budget.snapshot().calls).toBe(2);
  });

  it('a coarse clock left stale by a late refresh timer grants the same retries as the exact clock', async () => {
    const run = async (coarse: boolean) => {
      const fake = new FakeClock();
      const lag = { ms: 0 };
      // The refresh timer fires `lag.ms` late: a GC pause, a CPU burst, a resumed VM.
      const laggy: Clock = {
        now: () => fake.now(),
        setTimer: (fn, ms) => fake.setTimer(fn, ms + lag.ms),
        clearTimer: (handle) => fake.clearTimer(handle),
        sleep: (ms, signal) => fake.sleep(ms, signal),
        random: () => fake.random(),
      };
      const callClock = coarse ? new CoarseClock(laggy, budgetClockResolutionMs(limits.windowMs)) : fake;
      const budget = new RetryBudget(fake, limits, callClock);
      for (let step = 0; step < 20; step++) {
        for (let i = 0; i < 100; i++) {
          budget.recordCall();
          budget.tryAcquire();
        }
        if (step === 19) lag.ms = 3_000;
        await fake.advance(250);
      }
      await fake.advance(3_000); // the refresh is still 250 ms away: the coarse time is 3 s old
      let granted = 0;
      for (let i = 0; i < 100; i++) {
        budget.recordCall();
        if (budget.tryAcquire()) granted++;
      }
      if (callClock instanceof CoarseClock) callClock.stop();
      return { granted, window: budget.snapshot() };
    };
    const exact = await run(false);
    expect(exact.granted).toBe(20);
    expect(await run(true)).toEqual(exact);
  });

  it('keeps its own window when asked for another one', () => {
    const clock = new FakeClock();
    const budget = new RetryBudget(clock, 10_000);
    for (let i = 0; i < 100; i++) budget.recordCall();
    expect(budget.tryAcquire(limits)).toBe(true);
    expect(budget.tryAcquire({ ratio: 0, minPerSecond: 1, windowMs: 1_000 })).toBe(true);
    expect(budget.snapshot()).toEqual({ calls: 100, retries: 2 });
  });

  it('created with full limits, enforces them whatever a call asks for', () => {
    const clock = new FakeClock();
    const budget = new RetryBudget(clock, { ratio: 0.1, minPerSecond: 0, windowMs: 10_000 });
    for (let i = 0; i < 100; i++) budget.recordCall();
    let granted = 0;
    while (budget.tryAcquire({ ratio: 1, minPerSecond: 100, windowMs: 1_000 })) granted++;
    expect(granted).toBe(10);
  });
});

describe('retry budget under a burst of failing calls', () => {
  async function burst(budgeted: boolean) {
    const clock = new FakeClock();
    const budgetState = new RetryBudget(clock, limits.windowMs);
    const stats = createRetryStats();
    const options = {
      maxAttempts: 3,
      baseDelay: 100,
      jitter: 'none' as const,
      budget: budgeted ? limits : false,
      budgetState,
      stats,
    };
    let calls = 0;
    const fn = async () => {
      calls++;
      throw connectionReset();
    };
    const runs = Array.from({ length: 1_000 }, () => watch(retry(fn, options, clock)));
    await clock.advance(1_000);
    expect(runs.every((r) => r.done)).toBe(true);
    return { calls, stats, runs };
  }

  it('without a budget every call is retried: 3x the load', async () => {
    const { calls, stats } = await burst(false);
    expect(calls).toBe(3_000);
    expect(stats).toMatchObject({ operations: 1_000, exhaustions: 1_000, budgetRejections: 0 });
  });

  it('with the default budget the extra load stays at 20 % plus the reserve, and rejections are counted', async () => {
    const { calls, stats, runs } = await burst(true);
    // 1 000 first attempts + 0.2 * 1 000 + 5/s * 10 s = 1 250 calls instead of 3 000.
    expect(calls).toBe(1_250);
    expect(stats).toMatchObject({
      operations: 1_000,
      attempts: 1_250,
      budgetRejections: 1_000,
      exhaustions: 0,
    });
    // Each operation still fails with its own last error, unchanged, carrying its attempt count.
    expect(runs.every((r) => (r.error as { code?: string }).code === 'ECONNRESET')).toBe(true);
    expect(runs.filter((r) => getRetryAttempts(r.error) === 2)).toHaveLength(250);
    expect(runs.filter((r) => getRetryAttempts(r.error) === 1)).toHaveLength(750);
  });
});
