import { RollingWindow } from '../../src/core/common/rolling-window';

const T0 = 1_700_000_000_000; // a multiple of 1000, so bucket edges fall on round numbers

describe('RollingWindow', () => {
  it('counts calls, failures, timeouts, rejections and slow calls', () => {
    const w = new RollingWindow(10_000, 10, T0);
    w.record(T0, false, false, false);
    w.record(T0 + 1, true, false, true);
    w.record(T0 + 2, true, true, false);
    w.recordRejection(T0 + 3);
    w.recordSuccesses(T0 + 4, 3);
    expect(w.snapshot(T0 + 5)).toEqual({ calls: 6, failures: 2, timeouts: 1, rejections: 1, slowCalls: 1 });
  });

  it('drops a bucket once it falls out of the window, one bucket at a time', () => {
    const w = new RollingWindow(10_000, 10, T0); // 1 s buckets
    w.record(T0, true, false, false); // bucket 0
    w.record(T0 + 1_500, false, false, false); // bucket 1
    expect(w.snapshot(T0 + 9_999).calls).toBe(2);
    // At T0 + 10 s the window covers buckets 1..10: bucket 0 is gone.
    expect(w.snapshot(T0 + 10_000)).toMatchObject({ calls: 1, failures: 0 });
    expect(w.snapshot(T0 + 10_999).calls).toBe(1);
    expect(w.snapshot(T0 + 11_000).calls).toBe(0);
  });

  it('clears everything after a gap longer than the window', () => {
    const w = new RollingWindow(10_000, 10, T0);
    for (let i = 0; i < 10; i++) w.record(T0 + i * 1_000, true, true, true);
    expect(w.snapshot(T0 + 9_000).calls).toBe(10);
    expect(w.snapshot(T0 + 60_000)).toEqual({
      calls: 0,
      failures: 0,
      timeouts: 0,
      rejections: 0,
      slowCalls: 0,
    });
    w.record(T0 + 60_001, false, false, false);
    expect(w.snapshot(T0 + 60_002).calls).toBe(1);
  });

  it('keeps the running sums equal to the buckets through many roll-overs', () => {
    const w = new RollingWindow(1_000, 4, T0); // 250 ms buckets
    const events: { at: number; failure: boolean }[] = [];
    let now = T0;
    for (let i = 0; i < 2_000; i++) {
      now += (i * 7919) % 97; // deterministic, irregular steps
      const failure = i % 3 === 0;
      w.record(now, failure, false, false);
      events.push({ at: now, failure });
      const oldest = (Math.floor(now / 250) - 3) * 250;
      const live = events.filter((e) => e.at >= oldest);
      expect(w.calls).toBe(live.length);
      expect(w.failures).toBe(live.filter((e) => e.failure).length);
    }
  });

  it('ignores a clock that goes back, recording into the newest bucket', () => {
    const w = new RollingWindow(10_000, 10, T0 + 5_000);
    w.record(T0, true, false, false);
    expect(w.snapshot(T0 + 5_000)).toMatchObject({ calls: 1, failures: 1 });
  });

  it('clear() empties the window', () => {
    const w = new RollingWindow(10_000, 10, T0);
    w.record(T0, true, false, false);
    w.clear(T0 + 1);
    expect(w.snapshot(T0 + 2).calls).toBe(0);
  });

  it('works with buckets that are not a whole number of ms', () => {
    const w = new RollingWindow(1_000, 3, T0);
    for (let t = 0; t < 5_000; t += 7) w.record(T0 + t, false, false, false);
    expect(w.calls).toBeGreaterThan(90);
    expect(w.calls).toBeLessThanOrEqual(Math.ceil(1_000 / 7) + 1);
  });
});
