import { Clock, FakeClock } from '../../src/core/common/clock';
import {
  DrainOptions,
  DrainTarget,
  ShutdownCoordinator,
  ShutdownTimings,
} from '../../src/core/shutdown/coordinator';

/** A server with `n` requests in flight, finished by the test. */
class FakeTarget implements DrainTarget {
  draining = false;
  lingerMs: number | undefined;
  finished = false;
  private active = 0;
  private drained = 0;
  private cutCount = 0;
  private waiters: Array<() => void> = [];

  constructor(inFlight = 0) {
    this.active = inFlight;
  }

  inFlight(): number {
    return this.active;
  }
  startDrain(options: DrainOptions): void {
    this.draining = true;
    this.lingerMs = options.idleLingerMs;
  }
  whenIdle(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }
  cut(): number {
    const n = this.active;
    this.cutCount += n;
    this.active = 0;
    return n;
  }
  finish(): void {
    this.finished = true;
  }
  counts() {
    return { drained: this.drained, cut: this.cutCount, total: this.drained + this.cutCount + this.active };
  }
  complete(n = 1): void {
    this.active -= n;
    if (this.draining) this.drained += n;
    if (this.active === 0) for (const w of this.waiters.splice(0)) w();
  }
}

const TIMINGS: ShutdownTimings = {
  healthGracePeriod: 1_000,
  drainTimeout: 5_000,
  forceTimeout: 10_000,
  taskTimeout: 2_000,
  graceOnClose: false,
};

describe('ShutdownCoordinator', () => {
  let clock: FakeClock;
  let exits: number[];
  const make = (timings: Partial<ShutdownTimings> = {}) =>
    new ShutdownCoordinator(clock, { ...TIMINGS, ...timings }, (code) => exits.push(code));

  beforeEach(() => {
    clock = new FakeClock();
    exits = [];
  });

  it('signal: readiness drops at once, the drain starts after the grace period', async () => {
    const c = make();
    const target = new FakeTarget(2);
    c.addDrainTarget(target);
    expect(c.isReady()).toBe(true);
    const t0 = clock.now();
    c.onSignal('SIGTERM');
    expect(c.isReady()).toBe(false);
    expect(c.isShuttingDown()).toBe(true);
    expect(c.phase).toBe('GRACE');

    let drained = false;
    void c.drain().then(() => (drained = true));
    await clock.advance(999);
    expect(target.draining).toBe(false);
    await clock.advance(1);
    expect(c.phase).toBe('DRAINING');
    expect(target.draining).toBe(true);
    target.complete(2);
    await clock.advance(0);
    expect(drained).toBe(true);
    expect(target.finished).toBe(true);

    const m = c.metrics();
    expect(m.signal).toBe('SIGTERM');
    expect(m.trigger).toBe('signal');
    expect(m.phaseStartedAt.GRACE).toBe(t0);
    expect(m.phaseStartedAt.DRAINING).toBe(t0 + 1_000);
    expect(m.drainFinishedAt).toBe(t0 + 1_000);
    expect(m.requests).toEqual({ inFlight: 0, drained: 2, cut: 0, total: 2 });
  });

  it('on a signal idle keep-alive connections linger (capped by the drain timeout); on app.close() they do not', async () => {
    const signalled = make();
    const a = new FakeTarget();
    signalled.addDrainTarget(a);
    signalled.onSignal('SIGTERM');
    void signalled.drain();
    await clock.advance(1_000);
    expect(a.lingerMs).toBe(1_000);

    const short = make({ healthGracePeriod: 0, drainTimeout: 300 });
    const b = new FakeTarget();
    short.addDrainTarget(b);
    short.onSignal('SIGTERM');
    void short.drain();
    await clock.advance(0);
    expect(b.lingerMs).toBe(300);

    const closed = make();
    const c = new FakeTarget();
    closed.addDrainTarget(c);
    await closed.drain();
    expect(c.lingerMs).toBe(0);
  });

  it('the grace period counts from the signal, not from the drain call', async () => {
    const c = make();
    const target = new FakeTarget();
    c.addDrainTarget(target);
    c.onSignal('SIGINT');
    await clock.advance(700);
    void c.drain();
    await clock.advance(299);
    expect(target.draining).toBe(false);
    await clock.advance(1);
    expect(target.draining).toBe(true);
  });

  it('app.close() (no signal) skips the grace period, unless graceOnClose', async () => {
    const c = make();
    const t0 = clock.now();
    await c.drain();
    expect(c.metrics()).toMatchObject({ trigger: 'close', signal: null, forceExitAt: null });
    expect(c.metrics().phaseStartedAt).toMatchObject({ GRACE: null, DRAINING: t0 });

    const g = make({ graceOnClose: true });
    let done = false;
    void g.drain().then(() => (done = true));
    expect(g.phase).toBe('GRACE');
    expect(g.isReady()).toBe(false);
    await clock.advance(999);
    expect(done).toBe(false);
    await clock.advance(1);
    expect(done).toBe(true);
  });

  it('cuts what is still in flight at the drain deadline, and counts it', async () => {
    const c = make({ healthGracePeriod: 0 });
    const target = new FakeTarget(3);
    c.addDrainTarget(target);
    let done = false;
    void c.drain().then(() => (done = true));
    await clock.advance(0);
    target.complete(1);
    await clock.advance(4_999);
    expect(done).toBe(false);
    await clock.advance(1);
    expect(done).toBe(true);
    expect(c.metrics().requests).toEqual({ inFlight: 0, drained: 1, cut: 2, total: 3 });
  });

  it('the watchdog ends the process with code 1 at the force timeout after the signal', async () => {
    const c = make({ forceTimeout: 3_000 });
    c.registerCleanupTask('hang', () => new Promise(() => undefined), { timeoutMs: 60_000 });
    c.onSignal('SIGTERM');
    void c.cleanup();
    await clock.advance(2_999);
    expect(exits).toEqual([]);
    expect(c.metrics().runningTask).toBe('hang');
    await clock.advance(1);
    expect(exits).toEqual([1]);
  });

  it('no watchdog without a signal, nor when SHUTDOWN_FORCE_TIMEOUT is 0', async () => {
    const c = make({ forceTimeout: 3_000 });
    void c.cleanup();
    await clock.advance(60_000);
    expect(exits).toEqual([]);
    const z = make({ forceTimeout: 0 });
    z.onSignal('SIGTERM');
    expect(z.metrics().forceExitAt).toBeNull();
    await clock.advance(60_000);
    expect(exits).toEqual([]);
  });

  it('a second signal ends the grace period at once (Ctrl+C twice), and is otherwise ignored', async () => {
    const c = make();
    const target = new FakeTarget();
    c.addDrainTarget(target);
    c.onSignal('SIGINT');
    void c.drain();
    await clock.advance(600);
    expect(target.draining).toBe(false);
    c.onSignal('SIGINT');
    await clock.advance(0);
    expect(target.draining).toBe(true);
    c.onSignal('SIGTERM');
    expect(c.metrics().signal).toBe('SIGINT');
    expect(c.phase).toBe('DRAINING');
  });

  it('the same signal twice within 200 ms (terminal and npm both deliver Ctrl+C) is one signal', async () => {
    const c = make();
    const target = new FakeTarget();
    c.addDrainTarget(target);
    c.onSignal('SIGINT');
    void c.drain();
    await clock.advance(5);
    c.onSignal('SIGINT');
    await clock.advance(0);
    expect(target.draining).toBe(false);
    await clock.advance(194);
    c.onSignal('SIGINT');
    await clock.advance(0);
    expect(target.draining).toBe(false);
    await clock.advance(1);
    c.onSignal('SIGINT');
    await clock.advance(0);
    expect(target.draining).toBe(true);
  });

  it('a wall clock stepped back does not swallow a real second Ctrl+C', async () => {
    let offset = 0;
    const stepped: Clock = {
      now: () => clock.now() + offset,
      setTimer: (fn, ms) => clock.setTimer(fn, ms),
      clearTimer: (handle) => clock.clearTimer(handle),
      sleep: (ms, signal) => clock.sleep(ms, signal),
      random: () => clock.random(),
    };
    const c = new ShutdownCoordinator(stepped, TIMINGS, (code) => exits.push(code));
    const target = new FakeTarget();
    c.addDrainTarget(target);
    c.onSignal('SIGINT');
    void c.drain();
    offset = -60_000;
    await clock.advance(600);
    expect(target.draining).toBe(false);
    c.onSignal('SIGINT');
    await clock.advance(0);
    expect(target.draining).toBe(true);
  });

  it('cleanup runs after the drain, records each task, and ends in STOPPED; both are idempotent', async () => {
    const c = make({ healthGracePeriod: 0 });
    const target = new FakeTarget(1);
    c.addDrainTarget(target);
    const order: string[] = [];
    c.registerCleanupTask('db', () => {
      order.push(`db (in flight ${target.inFlight()})`);
    });
    c.registerCleanupTask(
      'broken',
      () => {
        throw new Error('broken');
      },
      { priority: 1 },
    );
    const first = c.cleanup();
    const second = c.cleanup();
    expect(second).toBe(first);
    await clock.advance(10);
    expect(order).toEqual([]);
    target.complete();
    await first;
    expect(order).toEqual(['db (in flight 0)']);
    const m = c.metrics();
    expect(m.phase).toBe('STOPPED');
    expect(m.tasks.map((t) => [t.name, t.outcome, t.error])).toEqual([
      ['broken', 'failed', 'broken'],
      ['db', 'ok', undefined],
    ]);
    expect(m.pendingTasks).toBe(0);
    expect(c.drain()).toBe(c.drain());
  });

  it('holds the process (a ref-able timer) only until STOPPED', async () => {
    const c = make({ healthGracePeriod: 0, forceTimeout: 0 });
    expect(clock.pendingTimers()).toBe(0);
    const run = c.cleanup();
    expect(clock.pendingTimers()).toBe(1);
    await run;
    expect(clock.pendingTimers()).toBe(0);
  });

  it('liveness stays up during a normal shutdown', async () => {
    const c = make({ forceTimeout: 3_000 });
    c.onSignal('SIGTERM');
    await clock.advance(2_000);
    expect(c.isLive()).toBe(true);
    c.disarmWatchdog();
    expect(c.isLive()).toBe(true);
  });

  it('keeps the counts of a target removed after the drain', async () => {
    const c = make({ healthGracePeriod: 0 });
    const target = new FakeTarget(1);
    const remove = c.addDrainTarget(target);
    const run = c.drain();
    await clock.advance(0);
    target.complete();
    await run;
    remove();
    expect(c.metrics().requests).toEqual({ inFlight: 0, drained: 1, cut: 0, total: 1 });
  });
});
