/**
 * FakeClock.advanceUntilSettled: time moves in steps, with real event-loop turns between them, until
 * the work settles; timers fire at their own deadlines.
 */
import { FakeClock } from '../../src/core/common/clock';
import { isReliabilityConfigError } from '../../src/core/common/errors';

describe('FakeClock.advanceUntilSettled', () => {
  it('returns the value of work that waits on fake timers, each fired at its deadline', async () => {
    const clock = new FakeClock(0);
    const firedAt: number[] = [];
    const work = (async () => {
      for (const ms of [250, 500, 1_000]) {
        await clock.sleep(ms);
        firedAt.push(clock.now());
      }
      return 'done';
    })();
    await expect(clock.advanceUntilSettled(work)).resolves.toBe('done');
    expect(firedAt).toEqual([250, 750, 1_750]);
  });

  it('lets real I/O progress between steps', async () => {
    const clock = new FakeClock(0);
    const work = new Promise<void>((resolve) => setImmediate(resolve)).then(() => clock.sleep(30_000));
    await clock.advanceUntilSettled(work, { stepMs: 1_000 });
    expect(clock.now()).toBeGreaterThanOrEqual(30_000);
  });

  it("rejects with the work's own error", async () => {
    const clock = new FakeClock(0);
    const error = new Error('upstream down');
    const work = clock.sleep(100).then(() => Promise.reject(error));
    await expect(clock.advanceUntilSettled(work)).rejects.toBe(error);
  });

  it('gives up after maxMs of fake time', async () => {
    const clock = new FakeClock(0);
    await expect(
      clock.advanceUntilSettled(new Promise(() => undefined), { stepMs: 1_000, maxMs: 5_000 }),
    ).rejects.toThrow('did not settle within 5000 ms of fake time');
    expect(clock.now()).toBe(5_000);
  });

  it('settles at once for work already done, without moving time', async () => {
    const clock = new FakeClock(0);
    await expect(clock.advanceUntilSettled(Promise.resolve(7))).resolves.toBe(7);
    expect(clock.now()).toBe(0);
  });

  it.each([
    ['stepMs', 0, { stepMs: 0, maxMs: 1_000 }],
    ['stepMs', -5, { stepMs: -5, maxMs: 1_000 }],
    ['stepMs', NaN, { stepMs: NaN, maxMs: 1_000 }],
    ['stepMs', Infinity, { stepMs: Infinity, maxMs: 1_000 }],
    ['maxMs', NaN, { stepMs: 100, maxMs: NaN }],
    ['maxMs', -1, { stepMs: 100, maxMs: -1 }],
  ])(
    'rejects %s %p, naming the field and the value, instead of looping forever',
    async (field, value, options) => {
      const clock = new FakeClock(0);
      const error = await clock
        .advanceUntilSettled(new Promise(() => undefined), options)
        .catch((e: unknown) => e);
      expect(isReliabilityConfigError(error)).toBe(true);
      expect((error as Error).message).toContain(`advanceUntilSettled.${field}=${String(value)}`);
      expect(clock.now()).toBe(0);
    },
  );
});
