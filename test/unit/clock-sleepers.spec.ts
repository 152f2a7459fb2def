import { getEventListeners } from 'node:events';
import { FakeClock, flushMicrotasks, Sleepers } from '../../src/core/common/clock';
import { watch } from '../support/retry-settle';

describe('Sleepers', () => {
  it('sleeps on the clock and leaves nothing behind', async () => {
    const clock = new FakeClock();
    const sleepers = new Sleepers(clock);
    const caller = new AbortController();
    const sleep = watch(sleepers.sleep(100, caller.signal));
    expect(sleepers.size).toBe(1);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    await clock.advance(100);
    expect(sleep).toEqual({ done: true, value: undefined });
    expect(sleepers.size).toBe(0);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("the caller's abort wakes only its own sleep, with its reason", async () => {
    const clock = new FakeClock();
    const sleepers = new Sleepers(clock);
    const caller = new AbortController();
    const mine = watch(sleepers.sleep(1_000, caller.signal));
    const other = watch(sleepers.sleep(1_000));
    caller.abort(new Error('caller gave up'));
    await flushMicrotasks();
    expect((mine.error as Error).message).toBe('caller gave up');
    expect(other.done).toBe(false);
    expect(sleepers.size).toBe(1);
    expect(clock.pendingTimers()).toBe(1);
  });

  it('wakeAll rejects every sleep in progress and every later one, clearing their timers', async () => {
    const clock = new FakeClock();
    const sleepers = new Sleepers(clock);
    const sleeps = Array.from({ length: 50 }, () => watch(sleepers.sleep(60_000)));
    const stop = new Error('stopping');
    sleepers.wakeAll(stop);
    await flushMicrotasks();
    expect(sleeps.every((s) => s.error === stop)).toBe(true);
    expect(clock.pendingTimers()).toBe(0);
    await expect(sleepers.sleep(1)).rejects.toBe(stop);
    expect(sleepers.size).toBe(0);
  });
});
