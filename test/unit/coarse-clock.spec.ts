import { CoarseClock, FakeClock } from '../../src/core/common/clock';

describe('CoarseClock', () => {
  it('reads the clock on the first call, then at most resolutionMs behind while calls keep coming', async () => {
    const clock = new FakeClock(1_000);
    const coarse = new CoarseClock(clock, 250);
    expect(coarse.now()).toBe(1_000);
    await clock.advance(200);
    expect(coarse.now()).toBe(1_000);
    await clock.advance(100); // the refresh at 1 250 saw a call
    expect(coarse.now()).toBe(1_250);
    for (let t = 0; t < 2_000; t += 50) {
      await clock.advance(50);
      expect(clock.now() - coarse.now()).toBeLessThan(250);
    }
    coarse.stop();
  });

  it('stops its timer after a refresh that saw no call; the next call reads the clock', async () => {
    const clock = new FakeClock(0);
    const coarse = new CoarseClock(clock, 250);
    coarse.now();
    expect(clock.pendingTimers()).toBe(1);
    await clock.advance(250);
    expect(clock.pendingTimers()).toBe(0);
    await clock.advance(3_600_000);
    expect(coarse.now()).toBe(3_600_250);
    expect(clock.pendingTimers()).toBe(1);
  });

  it('after stop() has no timer and reads the clock on every call', async () => {
    const clock = new FakeClock(0);
    const coarse = new CoarseClock(clock, 250);
    coarse.now();
    coarse.stop();
    expect(clock.pendingTimers()).toBe(0);
    await clock.advance(10);
    expect(coarse.now()).toBe(10);
    expect(clock.pendingTimers()).toBe(0);
  });
});
