import { FakeClock } from '../../src/core/common/clock';
import { TimeoutError, isTimeoutError } from '../../src/core/common/errors';
import { Deadline, DeadlineTimer, runWithTimeout } from '../../src/core/common/deadline';

class Probe extends Deadline {
  expiredAt: number | undefined;
  expire(now: number): void {
    this.expiredAt = now;
  }
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('DeadlineTimer', () => {
  it('expires deadlines in order with one clock timer for all of them', async () => {
    const clock = new FakeClock();
    const timer = new DeadlineTimer(clock);
    const entries = [300, 100, 200, 100, 50].map((ms) => {
      const p = new Probe();
      timer.add(p, ms, clock.now());
      return p;
    });
    expect(clock.pendingTimers()).toBe(1);
    expect(timer.size).toBe(5);
    await clock.advance(100);
    expect(entries.map((e) => e.expiredAt !== undefined)).toEqual([false, true, false, true, true]);
    expect(clock.pendingTimers()).toBe(1);
    await clock.advance(200);
    expect(entries.every((e) => e.expiredAt !== undefined)).toBe(true);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('cancels deadlines anywhere in the heap; the last cancel clears the clock timer', async () => {
    const clock = new FakeClock();
    const timer = new DeadlineTimer(clock);
    const entries = Array.from({ length: 50 }, (_, i) => {
      const p = new Probe();
      timer.add(p, 10 + ((i * 37) % 50), clock.now());
      return p;
    });
    for (let i = 0; i < 50; i += 2) timer.cancel(entries[i]);
    timer.cancel(entries[0]); // twice: ignored
    await clock.advance(100);
    entries.forEach((e, i) => expect(e.expiredAt !== undefined).toBe(i % 2 === 1));
    const last = new Probe();
    timer.add(last, 1_000, clock.now());
    expect(clock.pendingTimers()).toBe(1);
    timer.cancel(last);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a lapsing timer leaves its clock timer to fire once and stop', async () => {
    const clock = new FakeClock();
    const timer = new DeadlineTimer(clock, true);
    const a = new Probe();
    timer.add(a, 100, clock.now());
    timer.cancel(a);
    expect(timer.size).toBe(0);
    expect(clock.pendingTimers()).toBe(1);
    // Calls one after another reuse the armed timer: no timer operation per call.
    for (let i = 0; i < 10; i++) {
      const p = new Probe();
      timer.add(p, 100, clock.now());
      timer.cancel(p);
    }
    expect(clock.pendingTimers()).toBe(1);
    await clock.advance(100);
    expect(clock.pendingTimers()).toBe(0);
    expect(a.expiredAt).toBeUndefined();
    const b = new Probe();
    timer.add(b, 100, clock.now());
    timer.cancel(b);
    timer.clearIfIdle();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('re-arms for a deadline that an expiry schedules', async () => {
    const clock = new FakeClock();
    const timer = new DeadlineTimer(clock);
    const second = new Probe();
    class Chained extends Deadline {
      expire(now: number): void {
        timer.add(second, 50, now);
      }
    }
    timer.add(new Chained(), 10, clock.now());
    await clock.advance(10);
    expect(clock.pendingTimers()).toBe(1);
    await clock.advance(50);
    expect(second.expiredAt).toBe(clock.now());
  });
});

describe('runWithTimeout', () => {
  it('resolves with the value and leaves no timer behind', async () => {
    const clock = new FakeClock();
    await expect(runWithTimeout(async () => 42, 1_000, clock)).resolves.toBe(42);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('rejects with TimeoutError, aborts the signal with it and ignores a late result', async () => {
    const clock = new FakeClock();
    const work = deferred<string>();
    let signal: AbortSignal | undefined;
    const promise = runWithTimeout(
      (s) => {
        signal = s;
        return work.promise;
      },
      100,
      clock,
      'payments',
    );
    const outcome = promise.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await clock.advance(100);
    const error = await outcome;
    expect(isTimeoutError(error)).toBe(true);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).operation).toBe('payments');
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(error);
    expect(clock.pendingTimers()).toBe(0);
    work.resolve('late');
    await clock.advance(0);
    await expect(promise).rejects.toBe(error);
  });

  it('passes errors through unchanged and clears the timer', async () => {
    const clock = new FakeClock();
    const boom = new Error('boom');
    await expect(runWithTimeout(() => Promise.reject(boom), 100, clock)).rejects.toBe(boom);
    await expect(
      runWithTimeout(
        () => {
          throw boom;
        },
        100,
        clock,
      ),
    ).rejects.toBe(boom);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('gives a function that takes no argument no signal', async () => {
    const clock = new FakeClock();
    const seen: unknown[] = [];
    await runWithTimeout(
      function (this: unknown, ...args: unknown[]) {
        seen.push(args.length, args[0]);
        return 1;
      },
      100,
      clock,
    );
    expect(seen).toEqual([0, undefined]);
  });

  it('gives every call its own signal', async () => {
    const clock = new FakeClock();
    const signals: AbortSignal[] = [];
    const run = () =>
      runWithTimeout(
        (s) => {
          signals.push(s);
          return new Promise<never>(() => undefined);
        },
        10,
        clock,
      ).catch(() => undefined);
    const a = run();
    await clock.advance(5);
    const b = run();
    await clock.advance(5);
    await a;
    expect(signals[0].aborted).toBe(true);
    expect(signals[1].aborted).toBe(false);
    expect(signals[0]).not.toBe(signals[1]);
    await clock.advance(5);
    await b;
    expect(signals[1].aborted).toBe(true);
  });

  it('follows a parent signal: rejects with its reason and aborts the call', async () => {
    const clock = new FakeClock();
    const parent = new AbortController();
    let signal: AbortSignal | undefined;
    const promise = runWithTimeout(
      (s) => {
        signal = s;
        return new Promise(() => undefined);
      },
      1_000,
      clock,
      undefined,
      parent.signal,
    );
    const reason = new Error('client went away');
    parent.abort(reason);
    await expect(promise).rejects.toBe(reason);
    expect(signal?.reason).toBe(reason);
    expect(clock.pendingTimers()).toBe(0);
    await expect(runWithTimeout(async () => 1, 1_000, clock, undefined, parent.signal)).rejects.toBe(reason);
  });

  it('with ms <= 0 runs without a timer', async () => {
    const clock = new FakeClock();
    const promise = runWithTimeout(async () => 'x', 0, clock);
    expect(clock.pendingTimers()).toBe(0);
    await expect(promise).resolves.toBe('x');
  });
});
