import fc from 'fast-check';
import { CircuitBreaker } from '../../src/core/circuit-breaker/circuit-breaker';
import type { CircuitBreakerSettings } from '../../src/core/circuit-breaker/settings';
import { FakeClock } from '../../src/core/common/clock';
import type { CircuitState } from '../../src/core/common/errors';
import { settle } from '../support/circuit-breaker-helpers';

/**
 * Random sequences of calls and clock advances, run against the real breaker (on a FakeClock) and
 * against a tiny reference model written straight from the rules:
 * - a call's outcome lands in the bucket of the moment it ends; the window is the current bucket
 *   and the `buckets - 1` before it;
 * - CLOSED opens when calls ≥ volumeThreshold and failures / calls ≥ failureThreshold
 *   (or slow / calls ≥ slowCallRate), checked after every recorded outcome;
 * - OPEN rejects until resetTimeout has passed, then is HALF_OPEN;
 * - HALF_OPEN: a failed, timed-out or slow probe re-opens, `halfOpenMaxCalls` successes close and
 *   clear the window; an error that does not count changes nothing.
 * Calls run one at a time here (the unit tests cover concurrent probes). Sequences stay under 256
 * calls, the age until which the breaker times every call, so its windows are exact.
 */

type Op =
  | { kind: 'success' }
  | { kind: 'failure' }
  | { kind: 'ignored' }
  | { kind: 'slow'; ms: number }
  | { kind: 'advance'; ms: number };

interface Event {
  at: number;
  failure: boolean;
  timeout: boolean;
  slow: boolean;
}

class Model {
  state: CircuitState = 'CLOSED';
  openUntil = 0;
  probeSuccesses = 0;
  events: Event[] = [];
  rejections = 0;
  calls = 0;
  private readonly bucketMs: number;

  constructor(
    readonly s: CircuitBreakerSettings,
    public now: number,
  ) {
    this.bucketMs = s.rollingWindow / s.rollingBuckets;
  }

  window(): Event[] {
    const oldest = Math.floor(this.now / this.bucketMs) - this.s.rollingBuckets + 1;
    return this.events.filter((e) => Math.floor(e.at / this.bucketMs) >= oldest);
  }

  refresh(): void {
    if (this.state === 'OPEN' && this.now >= this.openUntil) {
      this.state = 'HALF_OPEN';
      this.probeSuccesses = 0;
    }
  }

  call(op: Exclude<Op, { kind: 'advance' }>): void {
    const duration = op.kind === 'slow' ? op.ms : 0;
    this.refresh();
    if (this.state === 'OPEN') {
      this.rejections++;
      this.now += duration;
      return;
    }
    const probe = this.state === 'HALF_OPEN';
    this.calls++;
    if (op.kind === 'ignored') return;
    const timeout = this.s.timeout > 0 && duration > this.s.timeout;
    const took = timeout ? this.s.timeout : duration;
    const at = this.now + took;
    this.now += duration;
    const slow = this.s.slowCallThreshold > 0 && took >= this.s.slowCallThreshold;
    const failure = op.kind === 'failure' || timeout;
    this.events.push({ at, failure, timeout, slow });
    if (probe) {
      if (failure || slow) {
        this.state = 'OPEN';
        this.openUntil = at + this.s.resetTimeout;
      } else if (++this.probeSuccesses >= this.s.halfOpenMaxCalls) {
        this.state = 'CLOSED';
        this.events = [];
      }
      return;
    }
    const saved = this.now;
    this.now = at; // the trip check sees the window as of the call's end
    const w = this.window();
    this.now = saved;
    const failures = w.filter((e) => e.failure).length;
    const slowCalls = w.filter((e) => e.slow).length;
    if (
      w.length >= this.s.volumeThreshold &&
      ((failures > 0 && failures / w.length >= this.s.failureThreshold) ||
        (this.s.slowCallRate > 0 && slowCalls > 0 && slowCalls / w.length >= this.s.slowCallRate))
    ) {
      this.state = 'OPEN';
      this.openUntil = at + this.s.resetTimeout;
    }
  }
}

const settingsArb: fc.Arbitrary<CircuitBreakerSettings> = fc
  .record({
    failureThreshold: fc.constantFrom(0.2, 0.25, 0.5, 0.75, 1),
    volumeThreshold: fc.integer({ min: 1, max: 6 }),
    // Round values as well as arbitrary ones, so that boundaries (a probe exactly at
    // resetTimeout, a call exactly at a bucket edge) come up often.
    resetTimeout: fc.oneof(fc.constantFrom(0, 100, 250, 500, 1_000), fc.integer({ min: 0, max: 2_000 })),
    bucketMs: fc.oneof(fc.constantFrom(50, 100, 250, 500), fc.integer({ min: 50, max: 1_000 })),
    rollingBuckets: fc.integer({ min: 1, max: 8 }),
    halfOpenMaxCalls: fc.integer({ min: 1, max: 3 }),
    timeout: fc.oneof(fc.constant(0), fc.integer({ min: 20, max: 400 })),
    slow: fc.option(
      fc.record({ threshold: fc.integer({ min: 10, max: 300 }), rate: fc.constantFrom(0.5, 1) }),
    ),
  })
  .map((r) => ({
    failureThreshold: r.failureThreshold,
    volumeThreshold: r.volumeThreshold,
    resetTimeout: r.resetTimeout,
    rollingWindow: r.bucketMs * r.rollingBuckets,
    rollingBuckets: r.rollingBuckets,
    halfOpenMaxCalls: r.halfOpenMaxCalls,
    timeout: r.timeout,
    slowCallThreshold: r.slow?.threshold ?? 0,
    slowCallRate: r.slow?.rate ?? 0,
    externalTimeout: 0,
    isFailure: (e: unknown) => (e as { status?: number }).status !== 404,
  }));

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Op>({ kind: 'success' }) },
  { weight: 4, arbitrary: fc.constant<Op>({ kind: 'failure' }) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: 'ignored' }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 600 }).map<Op>((ms) => ({ kind: 'slow', ms })) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(fc.constantFrom(50, 100, 250, 500, 1_000), fc.integer({ min: 1, max: 3_000 }))
      .map<Op>((ms) => ({ kind: 'advance', ms })),
  },
);

async function runReal(breaker: CircuitBreaker, clock: FakeClock, op: Op): Promise<void> {
  switch (op.kind) {
    case 'advance':
      return clock.advance(op.ms);
    case 'success':
      await settle(breaker.execute(() => Promise.resolve('ok')));
      return;
    case 'failure':
      await settle(breaker.execute(() => Promise.reject(Object.assign(new Error('down'), { status: 503 }))));
      return;
    case 'ignored':
      await settle(breaker.execute(() => Promise.reject(Object.assign(new Error('nope'), { status: 404 }))));
      return;
    case 'slow': {
      const call = settle(breaker.execute(() => clock.sleep(op.ms).then(() => 'slow')));
      await clock.advance(op.ms);
      await call;
    }
  }
}

describe('CircuitBreaker against a reference model', () => {
  it('agrees on state, window and counts after every step', async () => {
    await fc.assert(
      fc.asyncProperty(settingsArb, fc.array(opArb, { maxLength: 80 }), async (settings, ops) => {
        // A duration equal to the timeout races two timers due at the same instant; keep clear of it.
        ops = ops.map((op) =>
          op.kind === 'slow' && op.ms === settings.timeout ? { kind: 'slow', ms: op.ms + 1 } : op,
        );
        const clock = new FakeClock();
        const breaker = new CircuitBreaker('model', settings, { clock });
        const model = new Model(settings, clock.now());
        for (const op of ops) {
          await runReal(breaker, clock, op);
          if (op.kind === 'advance') model.now += op.ms;
          else model.call(op);
          expect(clock.now()).toBe(model.now);
          model.refresh();
          const m = breaker.metrics();
          const w = model.window();
          expect({
            state: m.state,
            calls: m.calls,
            failures: m.failures,
            timeouts: m.timeouts,
            slowCalls: m.slowCalls,
            rejections: m.totals.rejections,
            ran: m.totals.calls,
            nextAttemptAt: m.nextAttemptAt,
          }).toEqual({
            state: model.state,
            calls: w.length,
            failures: w.filter((e) => e.failure).length,
            timeouts: w.filter((e) => e.timeout).length,
            slowCalls: w.filter((e) => e.slow).length,
            rejections: model.rejections,
            ran: model.calls,
            nextAttemptAt: model.state === 'OPEN' ? model.openUntil : undefined,
          });
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('CircuitBreaker: a probe counts as stuck only after its own timeout (property)', () => {
  it('a probe within its own timeout (resetTimeout with timeout 0, from its start) is never declared stuck, and past it frees its slot', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5_000 })), // timeout
        fc.integer({ min: 1, max: 5_000 }), // resetTimeout
        fc.integer({ min: 0, max: 3_000 }), // how long after half-open the probe starts
        fc.integer({ min: 1, max: 10_000 }), // how long the probe takes
        fc.integer({ min: 0, max: 10_000 }), // when, after the probe's start, another call comes
        async (timeout, resetTimeout, delay, duration, arrival) => {
          const clock = new FakeClock();
          const s = { timeout, resetTimeout, volumeThreshold: 1, rollingWindow: 60_000 };
          const breaker = new CircuitBreaker('p', s, { clock });
          const reasons: string[] = [];
          breaker.events.onStateChange((e) => reasons.push(e.reason ?? ''));
          await settle(breaker.execute(() => Promise.reject(new Error('down'))));
          await clock.advance(resetTimeout + delay);
          const probe = settle(breaker.execute(() => clock.sleep(duration).then(() => 'ok')));
          const limit = timeout > 0 ? timeout : resetTimeout;
          if (arrival >= duration) return; // the other call comes after the probe: nothing to see
          if (duration === timeout) return; // the probe's result and its deadline at the same tick
          await clock.advance(arrival);
          // It fails if it runs, so that only the first probe can ever close the circuit.
          const other = await settle(breaker.execute(() => Promise.reject(new Error('other'))));
          if (arrival < limit) {
            expect(other).toEqual({ error: expect.objectContaining({ state: 'HALF_OPEN' }) });
          } else {
            // Past its limit the probe no longer holds the slot: the circuit re-opened (and may
            // have half-opened again, letting this call through as a new probe).
            expect(other).not.toEqual({ error: expect.objectContaining({ state: 'HALF_OPEN' }) });
          }
          await clock.advance(duration - arrival);
          await probe;
          // With a timeout, the probe's own deadline decides; without one, only a call that found it
          // stuck does.
          const closes = timeout > 0 ? duration < timeout : arrival < limit;
          expect(reasons.includes('probe-succeeded')).toBe(closes);
        },
      ),
      { numRuns: 300 },
    );
  });
});
