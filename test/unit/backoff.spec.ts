import fc from 'fast-check';
import { FakeClock } from '../../src/core/common/clock';
import {
  backoffDelays,
  BackoffOptions,
  createBackoff,
  exponentialDelay,
  JitterMode,
} from '../../src/core/retry/backoff';

const base: BackoffOptions = { baseDelay: 100, maxDelay: 1_000, multiplier: 2, jitter: 'none' };
const sequence = (values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length];
};

describe('backoff delay sequences', () => {
  it('none: min(maxDelay, baseDelay * multiplier^(n-1))', () => {
    expect(backoffDelays(base, () => 0.5, 7)).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(exponentialDelay(base, 4)).toBe(800);
  });

  it('full: uniform in [0, d], scaled by the random source', () => {
    const clock = new FakeClock();
    clock.queueRandom(0, 0.5, 0.25, 0.999, 1);
    expect(backoffDelays({ ...base, jitter: 'full' }, () => clock.random(), 5)).toEqual([
      0, 100, 100, 799.2, 1000,
    ]);
  });

  it('equal: uniform in [d/2, d]', () => {
    expect(backoffDelays({ ...base, jitter: 'equal' }, sequence([0, 0.5, 1, 0, 0.5]), 5)).toEqual([
      50, 150, 400, 400, 750,
    ]);
  });

  it('decorrelated: AWS min(cap, random_between(base, previous * 3)), from the previous delay', () => {
    const opts: BackoffOptions = { ...base, jitter: 'decorrelated' };
    // r = 0.5: 100 + (300 - 100) / 2 = 200; 100 + (600 - 100) / 2 = 350; 100 + (1050 - 100) / 2 = 575 ...
    expect(backoffDelays(opts, () => 0.5, 6)).toEqual([200, 350, 575, 912.5, 1000, 1000]);
    // r = 0 always gives the base; r -> 1 triples the previous delay up to the cap.
    expect(backoffDelays(opts, () => 0, 3)).toEqual([100, 100, 100]);
    expect(backoffDelays(opts, () => 1, 4)).toEqual([300, 900, 1000, 1000]);
  });

  it('is an immutable iterator: next() returns a new backoff and never changes the current one', () => {
    const first = createBackoff(base, () => 0.5);
    const second = first.next();
    const again = first.next();
    expect(first).toMatchObject({ retry: 1, delayMs: 100 });
    expect(second).toMatchObject({ retry: 2, delayMs: 200 });
    expect(again).not.toBe(second);
    expect(again).toMatchObject({ retry: 2, delayMs: 200 });
    expect(second.next().next()).toMatchObject({ retry: 4, delayMs: 800 });
  });

  it('draws from the injected random source only (one draw per jittered delay)', () => {
    const random = jest.fn(() => 0.5);
    backoffDelays({ ...base, jitter: 'full' }, random, 4);
    expect(random).toHaveBeenCalledTimes(4);
    random.mockClear();
    backoffDelays(base, random, 4);
    expect(random).not.toHaveBeenCalled();
  });

  it('clamps a random source that leaves [0, 1)', () => {
    expect(backoffDelays({ ...base, jitter: 'full' }, sequence([-3, 7, Number.NaN]), 3)).toEqual([0, 200, 0]);
  });

  it('handles a maxDelay below the baseDelay and a zero base', () => {
    expect(backoffDelays({ ...base, baseDelay: 5_000 }, () => 0.5, 2)).toEqual([1000, 1000]);
    expect(backoffDelays({ ...base, jitter: 'decorrelated', baseDelay: 5_000 }, () => 0.5, 2)).toEqual([
      1000, 1000,
    ]);
    expect(backoffDelays({ ...base, baseDelay: 0, jitter: 'decorrelated' }, () => 0.9, 3)).toEqual([0, 0, 0]);
  });
});

describe('backoff bounds (property)', () => {
  const optionsArb = fc.record({
    baseDelay: fc.integer({ min: 0, max: 60_000 }),
    maxDelay: fc.integer({ min: 0, max: 120_000 }),
    multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
    jitter: fc.constantFrom<JitterMode>('full', 'equal', 'decorrelated', 'none'),
  });
  const randomsArb = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
    minLength: 1,
    maxLength: 40,
  });

  it('every delay stays within its jitter bounds and never exceeds maxDelay', () => {
    fc.assert(
      fc.property(optionsArb, randomsArb, (options, randoms) => {
        const delays = backoffDelays(options, sequence(randoms), randoms.length);
        let previous = options.baseDelay;
        delays.forEach((delay, i) => {
          const d = exponentialDelay(options, i + 1);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(options.maxDelay);
          switch (options.jitter) {
            case 'none':
              expect(delay).toBeCloseTo(d, 6);
              break;
            case 'full':
              expect(delay).toBeLessThanOrEqual(d * (1 + 1e-12));
              break;
            case 'equal':
              expect(delay).toBeGreaterThanOrEqual(d / 2 - 1e-9);
              expect(delay).toBeLessThanOrEqual(d * (1 + 1e-12));
              break;
            case 'decorrelated':
              expect(delay).toBeGreaterThanOrEqual(Math.min(options.baseDelay, options.maxDelay) - 1e-9);
              expect(delay).toBeLessThanOrEqual(Math.max(options.baseDelay, previous * 3) + 1e-9);
              break;
          }
          previous = delay;
        });
      }),
      { numRuns: 500 },
    );
  });

  it('without jitter the sequence never decreases and reaches maxDelay when the multiplier grows', () => {
    fc.assert(
      fc.property(optionsArb, fc.integer({ min: 1, max: 60 }), (options, count) => {
        const delays = backoffDelays({ ...options, jitter: 'none' }, () => 0.5, count);
        for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1]);
        expect(delays.every((d) => Number.isFinite(d))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
