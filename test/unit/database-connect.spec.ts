import { FakeClock } from '../../src/core/common/clock';
import { isDatabaseConnectError } from '../../src/core/classification/database-errors';
import { connectWithRetry } from '../../src/database/database-connect';
import { InFlightTracker } from '../../src/core/shutdown/in-flight-tracker';

const refused = (): Error => Object.assign(new Error("Can't reach database server"), { code: 'P1001' });

/** A client whose `SELECT 1` fails until `upAt` (clock time). */
function clientUpAt(clock: FakeClock, upAt: number, failure: () => Error = refused) {
  const calls = { connect: 0, select: 0 };
  return {
    calls,
    client: {
      $connect: async () => {
        calls.connect++;
      },
      $disconnect: async () => undefined,
      $queryRawUnsafe: async () => {
        calls.select++;
        if (clock.now() < upAt) throw failure();
        return [{ '?column?': 1 }];
      },
      $transaction: async () => undefined,
    },
  };
}

function collectingLog() {
  const lines: string[] = [];
  return {
    lines,
    log: { log: (m: string) => lines.push(`log ${m}`), warn: (m: string) => lines.push(`warn ${m}`) },
  };
}

describe('connectWithRetry', () => {
  it('retries with growing, capped delays and logs each attempt until the database answers', async () => {
    const clock = new FakeClock();
    const { client, calls } = clientUpAt(clock, clock.now() + 5_000);
    const { lines, log } = collectingLog();
    const done = connectWithRetry(client, { timeoutMs: 30_000, attemptTimeoutMs: 1_000, clock, log });
    await clock.advance(10_000);
    const result = await done;
    expect(result.attempts).toBe(calls.select);
    // Delays 100, 200, 400, 800, 1600, 2000 (random 0.5 = no jitter): up at 5 s → 7 attempts.
    expect(result.attempts).toBe(7);
    expect(result.elapsedMs).toBe(5_100);
    expect(lines.filter((l) => l.startsWith('warn'))).toHaveLength(6);
    expect(lines[0]).toBe(
      "warn Database connect attempt 1 failed (P1001: Can't reach database server); next attempt in 100 ms, 30 s left of DATABASE_CONNECT_TIMEOUT",
    );
    expect(lines[lines.length - 1]).toBe('log Connected to the database in 5100 ms (7 attempts)');
  });

  it('gives up at the connect timeout with DatabaseConnectError', async () => {
    const clock = new FakeClock();
    const { client } = clientUpAt(clock, Infinity);
    const { log } = collectingLog();
    const done = connectWithRetry(client, { timeoutMs: 3_000, attemptTimeoutMs: 1_000, clock, log }).catch(
      (e) => e,
    );
    await clock.advance(5_000);
    const error = await done;
    expect(isDatabaseConnectError(error)).toBe(true);
    expect(error.elapsedMs).toBe(3_000);
    expect(error.message).toMatch(/^Could not connect to the database: 6 attempts in 3000 ms/);
  });

  it('fails at once on a permanent error (bad password)', async () => {
    const clock = new FakeClock();
    const badPassword = () => Object.assign(new Error('Authentication failed'), { code: 'P1000' });
    const { client, calls } = clientUpAt(clock, Infinity, badPassword);
    const { log } = collectingLog();
    const error = await connectWithRetry(client, {
      timeoutMs: 30_000,
      attemptTimeoutMs: 1_000,
      clock,
      log,
    }).catch((e) => e);
    expect(isDatabaseConnectError(error)).toBe(true);
    expect(calls.select).toBe(1);
    expect(error.message).toContain('P1000: Authentication failed');
  });

  it('bounds an attempt that hangs', async () => {
    const clock = new FakeClock();
    let attempts = 0;
    const client = {
      $connect: async () => undefined,
      $disconnect: async () => undefined,
      $queryRawUnsafe: () => {
        attempts++;
        return attempts < 3 ? new Promise<never>(() => undefined) : Promise.resolve([]);
      },
      $transaction: async () => undefined,
    };
    const { log } = collectingLog();
    const done = connectWithRetry(client, { timeoutMs: 30_000, attemptTimeoutMs: 500, clock, log });
    await clock.advance(2_000);
    await expect(done).resolves.toEqual({ attempts: 3, elapsedMs: 500 + 100 + 500 + 200 });
  });
});

describe('InFlightTracker', () => {
  it('counts work until it settles and wakes idle waiters', async () => {
    const tracker = new InFlightTracker();
    let finish!: () => void;
    const tracked = tracker.track(new Promise<void>((resolve) => (finish = resolve)));
    const failed = tracker.track(Promise.reject(new Error('x'))).catch(() => 'caught');
    expect(tracker.count).toBe(2);
    await failed;
    expect(tracker.count).toBe(1);
    let idle = false;
    const waiting = tracker.whenIdle().then(() => (idle = true));
    await Promise.resolve();
    expect(idle).toBe(false);
    finish();
    await tracked;
    await waiting;
    expect(idle).toBe(true);
    expect(tracker.count).toBe(0);
  });

  it('stops waiting when the signal aborts', async () => {
    const tracker = new InFlightTracker();
    void tracker.track(new Promise(() => undefined));
    const controller = new AbortController();
    const waiting = tracker.whenIdle(controller.signal);
    controller.abort();
    await expect(waiting).resolves.toBeUndefined();
    expect(tracker.count).toBe(1);
  });
});
