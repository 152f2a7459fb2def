import { FakeClock, MAX_TIMER_MS, TimerHandle } from '../../src/core/common/clock';
import { isTimeoutError } from '../../src/core/common/errors';
import { runWithTimeout } from '../../src/core/common/deadline';

/** A fake clock that records every delay armed, as Node would see it. */
class RecordingClock extends FakeClock {
  readonly armed: number[] = [];
  override setTimer(fn: () => void, ms: number): TimerHandle {
    this.armed.push(ms);
    return super.setTimer(fn, ms);
  }
}

const DAYS_35 = 3_000_000_000;

describe('timers past 2^31-1 ms', () => {
  it('MAX_TIMER_MS is the largest delay Node arms as given', () => {
    expect(MAX_TIMER_MS).toBe(2_147_483_647);
  });

  it('a 35-day deadline arms at the cap, re-arms, and expires on time', async () => {
    const clock = new RecordingClock();
    const started = clock.now();
    let expiredAt: number | undefined;
    const call = runWithTimeout(() => new Promise<never>(() => undefined), DAYS_35, clock).catch((e) => {
      expect(isTimeoutError(e)).toBe(true);
      expiredAt = clock.now();
    });
    await clock.advance(DAYS_35 - 1);
    expect(expiredAt).toBeUndefined();
    await clock.advance(1);
    await call;
    expect(expiredAt).toBe(started + DAYS_35);
    expect(Math.max(...clock.armed)).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect(clock.armed).toEqual([MAX_TIMER_MS, DAYS_35 - MAX_TIMER_MS]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a 35-day sleep arms at the cap, re-arms, and wakes on time', async () => {
    const clock = new RecordingClock();
    let woke = false;
    const sleep = clock.sleep(DAYS_35).then(() => (woke = true));
    await clock.advance(DAYS_35 - 1);
    expect(woke).toBe(false);
    await clock.advance(1);
    await sleep;
    expect(woke).toBe(true);
    expect(clock.armed).toEqual([MAX_TIMER_MS, DAYS_35 - MAX_TIMER_MS]);
  });

  it('an abort during the second leg of a long sleep clears its timer', async () => {
    const clock = new RecordingClock();
    const controller = new AbortController();
    const sleep = clock.sleep(DAYS_35, controller.signal);
    await clock.advance(MAX_TIMER_MS + 10);
    controller.abort(new Error('stop'));
    await expect(sleep).rejects.toThrow('stop');
    expect(clock.pendingTimers()).toBe(0);
  });
});
