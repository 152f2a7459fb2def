import { getEventListeners } from 'node:events';
import { resolveReliabilityConfig } from '../../src/config/reliability-config';
import { FakeClock, flushMicrotasks } from '../../src/core/common/clock';
import { isReliabilityConfigError } from '../../src/core/common/errors';
import { getRetryAttempts } from '../../src/core/retry/retry';
import {
  isRetryableDatabaseError,
  isRetryableError,
  isRetryableHttpError,
} from '../../src/core/classification/retry-classification';
import { Logger } from '@nestjs/common';
import { RETRY_METRICS_CAPACITY, RetryMetrics } from '../../src/retry/retry.options';
import { RetryService } from '../../src/retry/retry.service';
import { anthropicError, fetchFailed, prismaKnownError, systemError } from '../support/retry-error-shapes';
import { failingThen, watch } from '../support/retry-settle';

function service(env: Record<string, string> = {}, clock = new FakeClock()) {
  return {
    clock,
    retry: new RetryService(
      resolveReliabilityConfig({}, (name) => env[name]),
      clock,
    ),
  };
}

describe('RetryService.PresetConfigs', () => {
  const { FAST, STANDARD, DATABASE, HTTP, SLOW } = RetryService.PresetConfigs;

  it('has the five presets with their documented numbers', () => {
    expect(STANDARD).toEqual({ maxAttempts: 3, baseDelay: 1_000, maxDelay: 30_000, backoffMultiplier: 2 });
    expect(FAST).toEqual({ maxAttempts: 3, baseDelay: 100, maxDelay: 1_000, backoffMultiplier: 2 });
    expect(SLOW).toEqual({ maxAttempts: 5, baseDelay: 5_000, maxDelay: 60_000, backoffMultiplier: 2 });
    expect(DATABASE).toMatchObject({ maxAttempts: 4, baseDelay: 200, maxDelay: 5_000, backoffMultiplier: 3 });
    expect(HTTP).toMatchObject({ maxAttempts: 4, baseDelay: 500, maxDelay: 30_000, backoffMultiplier: 2 });
    expect(DATABASE.retryIf).toBe(isRetryableDatabaseError);
    expect(HTTP.retryIf).toBe(isRetryableHttpError);
    expect(HTTP.retryAfterMs).toEqual(expect.any(Function));
  });

  it('cannot be changed in place', () => {
    expect(Object.isFrozen(RetryService.PresetConfigs)).toBe(true);
    expect(Object.isFrozen(HTTP)).toBe(true);
  });

  it('DATABASE retries a write conflict and not a unique violation', async () => {
    const { clock, retry } = service({ RETRY_JITTER: 'none' });
    const conflict = watch(
      retry.executeWithRetry(failingThen([prismaKnownError('P2034', 'write conflict')], 'ok').fn, DATABASE),
    );
    await clock.advance(200);
    expect(conflict.value).toBe('ok');
    const unique = prismaKnownError('P2002', 'Unique constraint failed');
    const { fn, calls } = failingThen([unique], 'never');
    await expect(retry.executeWithRetry(fn, DATABASE)).rejects.toBe(unique);
    expect(calls).toHaveLength(1);
  });
});

describe('RetryService.executeWithRetry', () => {
  it('uses the module defaults from env strings when called without config', async () => {
    const { clock, retry } = service({
      RETRY_MAX_ATTEMPTS: '4',
      RETRY_BASE_DELAY: '50',
      RETRY_JITTER: 'none',
    });
    const errors = [new Error('a'), new Error('b'), new Error('c'), new Error('d')];
    const { fn, calls } = failingThen(errors, 'never');
    const run = watch(retry.executeWithRetry(fn));
    await clock.advance(50 + 100 + 200);
    expect(run.error).toBe(errors[3]);
    expect(calls).toHaveLength(4);
    expect(getRetryAttempts(run.error)).toBe(4);
    expect(retry.getRetryMetrics('default')).toMatchObject({
      operations: 1,
      attempts: 4,
      exhaustions: 1,
      totalDelayMs: 350,
    });
  });

  it('merges a per-call config over the defaults and a spread preset', async () => {
    const { clock, retry } = service({ RETRY_JITTER: 'none' });
    const { fn, calls } = failingThen([new Error('a')], 'ok');
    const run = watch(
      retry.executeWithRetry(fn, { ...RetryService.PresetConfigs.FAST, name: 'cache', baseDelay: 30 }),
    );
    await clock.advance(29);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(run.value).toBe('ok');
    expect(retry.getRetryMetrics('cache')).toMatchObject({ successesAfterRetry: 1, totalDelayMs: 30 });
  });

  it('HTTP: waits what Retry-After says (seconds, from a fetch Headers), plus a small positive jitter', async () => {
    const { clock, retry } = service();
    const limited = anthropicError(429, 'rate_limit_error', { 'retry-after': '3' });
    const delays: number[] = [];
    const { fn, calls } = failingThen([limited], 'ok');
    // The backoff draws first (0.9), then the Retry-After jitter (0.5): 3 s + 0.5 x min(1 s, 300 ms).
    clock.queueRandom(0.9, 0.5);
    const run = watch(
      retry.executeWithRetry(fn, {
        ...RetryService.PresetConfigs.HTTP,
        onRetry: (e) => delays.push(e.delayMs),
      }),
    );
    await clock.advance(3_149);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(run.value).toBe('ok');
    expect(delays).toEqual([3_150]);
  });

  it('HTTP: honours an HTTP-date Retry-After, and one longer than maxDelay up to maxRetryAfter', async () => {
    const clock = new FakeClock(Date.parse('2026-03-01T12:00:00Z'));
    const { retry } = service({}, clock);
    const delays: number[] = [];
    const dated = anthropicError(503, 'api_error', { 'retry-after': 'Sun, 01 Mar 2026 12:00:10 GMT' });
    // 45 s: above the preset's maxDelay (30 s), within RETRY_MAX_RETRY_AFTER (60 s).
    const later = anthropicError(529, 'overloaded_error', { 'retry-after': '45' });
    const { fn } = failingThen([dated, later], 'ok');
    clock.queueRandom(0, 0, 0, 0);
    const run = watch(
      retry.executeWithRetry(fn, {
        ...RetryService.PresetConfigs.HTTP,
        onRetry: (e) => delays.push(e.delayMs),
      }),
    );
    await clock.advance(10_000 + 45_000);
    expect(run.value).toBe('ok');
    expect(delays).toEqual([10_000, 45_000]);
  });

  it('HTTP: gives up, rethrowing the error, when Retry-After asks for more than maxRetryAfter', async () => {
    const { clock, retry } = service({ RETRY_MAX_RETRY_AFTER: '120000' });
    const far = anthropicError(529, 'overloaded_error', { 'retry-after': '121' });
    const { fn, calls } = failingThen([far], 'ok');
    const run = watch(retry.executeWithRetry(fn, { ...RetryService.PresetConfigs.HTTP, name: 'llm' }));
    await clock.advance(0);
    expect(run.error).toBe(far);
    expect(getRetryAttempts(far)).toBe(1);
    expect(calls).toHaveLength(1);
    expect(retry.getRetryMetrics('llm')).toMatchObject({ nonRetryableFailures: 1, totalDelayMs: 0 });
    // Up to the cap it waits, even beyond maxDelay.
    const near = anthropicError(529, 'overloaded_error', { 'retry-after': '120' });
    const second = failingThen([near], 'ok');
    clock.queueRandom(0, 0);
    const waited = watch(
      retry.executeWithRetry(second.fn, { ...RetryService.PresetConfigs.HTTP, name: 'llm' }),
    );
    await clock.advance(119_999);
    expect(second.calls).toHaveLength(1);
    await clock.advance(1);
    expect(waited.value).toBe('ok');
  });

  it('HTTP: gives up at once on a Retry-After too large for a number (not read as "none")', async () => {
    const { clock, retry } = service();
    const headers: Record<string, string>[] = [
      { 'retry-after': '1' + '0'.repeat(306) },
      { 'retry-after-ms': '9'.repeat(400) },
    ];
    for (const header of headers) {
      const far = anthropicError(529, 'overloaded_error', header);
      const { fn, calls } = failingThen([far, far, far], 'ok');
      const run = watch(retry.executeWithRetry(fn, { ...RetryService.PresetConfigs.HTTP, name: 'huge' }));
      await clock.advance(60_000);
      expect(run.error).toBe(far);
      expect(calls).toHaveLength(1);
    }
    expect(retry.getRetryMetrics('huge')).toMatchObject({ nonRetryableFailures: 2, totalDelayMs: 0 });
  });

  it('HTTP: retries an undici connection failure and gives up on a 400 at once', async () => {
    const { clock, retry } = service({ RETRY_JITTER: 'none' });
    const refused = fetchFailed(systemError('ECONNREFUSED'));
    const ok = watch(
      retry.executeWithRetry(failingThen([refused], 'up').fn, RetryService.PresetConfigs.HTTP),
    );
    await clock.advance(500);
    expect(ok.value).toBe('up');
    const bad = anthropicError(400, 'invalid_request_error');
    await expect(
      retry.executeWithRetry(failingThen([bad], 'x').fn, { ...RetryService.PresetConfigs.HTTP, name: 'llm' }),
    ).rejects.toBe(bad);
    expect(retry.getRetryMetrics('llm')).toMatchObject({
      operations: 1,
      attempts: 1,
      nonRetryableFailures: 1,
    });
  });

  it('rejects an invalid per-call config with a ReliabilityConfigError, without calling fn', async () => {
    const { retry } = service();
    const fn = jest.fn();
    const error = await retry.executeWithRetry(fn, { name: 'x', maxAttempts: -1 }).catch((e: unknown) => e);
    expect(isReliabilityConfigError(error)).toBe(true);
    expect((error as Error).message).toContain('retry["x"].maxAttempts=-1');
    expect(fn).not.toHaveBeenCalled();
  });

  it('works without Nest and without config (the built-in defaults)', async () => {
    const retry = new RetryService();
    await expect(retry.executeWithRetry(() => 1)).resolves.toBe(1);
    // The default retryIf gives up on a 4xx at once, so no real timer is started here.
    const notFound = Object.assign(new Error('Not Found'), { statusCode: 404 });
    expect(isRetryableError(notFound)).toBe(false);
    await expect(retry.executeWithRetry(failingThen([notFound], 'x').fn)).rejects.toBe(notFound);
    expect(retry.getRetryMetrics('default')).toMatchObject({ operations: 2, nonRetryableFailures: 1 });
  });
});

describe('RetryService metrics', () => {
  it('counts each outcome per name and returns copies', async () => {
    const { clock, retry } = service({ RETRY_JITTER: 'none', RETRY_BASE_DELAY: '10' });
    await retry.executeWithRetry(() => 'first', { name: 'svc' });
    const after = watch(retry.executeWithRetry(failingThen([new Error('x')], 'y').fn, { name: 'svc' }));
    const exhausted = watch(
      retry.executeWithRetry(
        failingThen(
          [1, 2, 3].map((n) => new Error(`e${n}`)),
          'z',
        ).fn,
        { name: 'svc' },
      ),
    );
    const refused = watch(
      retry.executeWithRetry(failingThen([Object.assign(new Error('no'), { status: 403 })], 'z').fn, {
        name: 'svc',
      }),
    );
    await clock.advance(100);
    expect([after.done, exhausted.done, refused.done]).toEqual([true, true, true]);
    const metrics = retry.getRetryMetrics('svc')!;
    expect(metrics).toEqual({
      operations: 4,
      attempts: 1 + 2 + 3 + 1,
      firstTrySuccesses: 1,
      successesAfterRetry: 1,
      exhaustions: 1,
      nonRetryableFailures: 1,
      budgetRejections: 0,
      aborts: 0,
      totalDelayMs: 10 + 10 + 20,
    });
    (metrics as { operations: number }).operations = 99;
    expect(retry.getRetryMetrics('svc')!.operations).toBe(4);
    expect(Object.keys(retry.getAllRetryMetrics())).toEqual(['svc']);
    expect(retry.getRetryMetrics('unknown')).toBeUndefined();
  });

  it(`keeps at most ${RETRY_METRICS_CAPACITY} names, dropping idle ones before busy ones`, async () => {
    const { retry } = service();
    await retry.executeWithRetry(() => 1, { name: 'hot' });
    for (let i = 0; i < RETRY_METRICS_CAPACITY * 3; i++) {
      await retry.executeWithRetry(() => 1, { name: `tenant-${i}` });
      if (i % 100 === 0) await retry.executeWithRetry(() => 1, { name: 'hot' });
    }
    const all = retry.getAllRetryMetrics();
    expect(Object.keys(all)).toHaveLength(RETRY_METRICS_CAPACITY);
    expect(all.hot).toBeDefined();
    expect(all[`tenant-${RETRY_METRICS_CAPACITY * 3 - 1}`]).toBeDefined();
    expect(all['tenant-0']).toBeUndefined();
  });
});

describe('RetryService budget', () => {
  const failing = () => {
    let calls = 0;
    const fn = async () => {
      calls++;
      throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    };
    return { fn, count: () => calls };
  };

  it('a burst of failing calls on one name adds ratio x calls + reserve retries, not (maxAttempts - 1) x calls', async () => {
    const { clock, retry } = service({
      RETRY_BUDGET_RATIO: '0.1',
      RETRY_BUDGET_MIN_PER_SECOND: '1',
      RETRY_BASE_DELAY: '10',
    });
    const sick = failing();
    const runs = Array.from({ length: 500 }, () =>
      watch(retry.executeWithRetry(sick.fn, { name: 'sick', maxAttempts: 5 })),
    );
    await clock.advance(5_000);
    expect(runs.every((r) => r.done)).toBe(true);
    // 500 + 0.1 * 500 + 1/s * 10 s = 560 calls, instead of 2 500.
    expect(sick.count()).toBe(560);
    expect(retry.getRetryMetrics('sick')).toMatchObject({
      operations: 500,
      attempts: 560,
      budgetRejections: 500,
    });
    // Another name keeps its own budget.
    const other = failing();
    const run = watch(retry.executeWithRetry(other.fn, { name: 'healthy', maxAttempts: 3 }));
    await clock.advance(5_000);
    expect(run.done).toBe(true);
    expect(other.count()).toBe(3);
  });

  it('RETRY_BUDGET_ENABLED=false turns it off; budget: true turns it back on per call', async () => {
    const { clock, retry } = service({
      RETRY_BUDGET_ENABLED: 'false',
      RETRY_BASE_DELAY: '0',
      RETRY_BUDGET_MIN_PER_SECOND: '0',
    });
    const off = failing();
    await Promise.all(
      Array.from({ length: 50 }, () => retry.executeWithRetry(off.fn, { name: 'a' }).catch(() => undefined)),
    );
    expect(off.count()).toBe(150);
    const on = failing();
    const runs = Array.from({ length: 50 }, () =>
      watch(retry.executeWithRetry(on.fn, { name: 'b', budget: true })),
    );
    await clock.advance(0);
    expect(runs.every((r) => r.done)).toBe(true);
    expect(on.count()).toBe(60);
  });
});

describe('RetryService budget of one name', () => {
  async function storm(retry: RetryService, windows: number[]): Promise<RetryMetrics> {
    for (let i = 0; i < 200; i++) {
      await retry
        .executeWithRetry(
          () => {
            throw new Error('down');
          },
          {
            name: 'payments',
            maxAttempts: 2,
            baseDelay: 0,
            jitter: 'none',
            budget: { windowMs: windows[i % windows.length] },
          },
        )
        .catch(() => undefined);
    }
    return retry.getRetryMetrics('payments')!;
  }

  it('two call sites with different windows share one budget, and the conflict is logged once', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const one = await storm(service().retry, [10_000]);
      expect(warn).not.toHaveBeenCalled();
      const two = await storm(service().retry, [10_000, 9_000]);
      // The same as one window: 200 calls allow 0.2 x 200 + 5 x 10 = 90 retries.
      expect(one.attempts - one.operations).toBe(90);
      expect(two.attempts - two.operations).toBe(90);
      expect(two.budgetRejections).toBe(110);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toContain(
        'Retry budget "payments" is defined with different limits by different calls: it keeps ' +
          '{ ratio: 0.2, minPerSecond: 5, windowMs: 10000 } from its first use and ignores ' +
          '{ ratio: 0.2, minPerSecond: 5, windowMs: 9000 }',
      );
    } finally {
      warn.mockRestore();
    }
  });

  it('a different ratio for the same name is also one budget, with the first ratio', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const { retry } = service();
      const call = (ratio: number) =>
        retry
          .executeWithRetry(
            () => {
              throw new Error('down');
            },
            { name: 'n', maxAttempts: 2, baseDelay: 0, budget: { ratio, minPerSecond: 0 } },
          )
          .catch(() => undefined);
      for (let i = 0; i < 100; i++) await call(i % 2 === 0 ? 0.1 : 1);
      const m = retry.getRetryMetrics('n')!;
      expect(m.attempts - m.operations).toBe(10);
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('RetryService at shutdown', () => {
  it('wakes a backoff that is still sleeping, rejecting with the shutdown reason', async () => {
    const { RetryService: Service } = await import('../../src/retry/retry.service');
    const { FakeClock: Fake } = await import('../../src/core/common/clock');
    const clock = new Fake();
    const service = new Service(undefined, clock);
    let calls = 0;
    const run = service.executeWithRetry(
      () => {
        calls++;
        throw new Error('transient');
      },
      { maxAttempts: 3, baseDelay: 60_000, maxDelay: 60_000, jitter: 'none', budget: false },
    );
    const settled = run.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await clock.advance(1);
    expect(calls).toBe(1);
    service.beforeApplicationShutdown();
    expect(await settled).toBe('RetryService: the application is shutting down');
    expect(calls).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('RetryService backoffs and a shared signal', () => {
  /** Passes every call through, counting the `abort` listeners each signal holds at once. */
  function countAbortListeners() {
    const live = new Map<EventTarget, number>();
    let most = 0;
    const originalAdd = EventTarget.prototype.addEventListener;
    const originalRemove = EventTarget.prototype.removeEventListener;
    EventTarget.prototype.addEventListener = function (this: EventTarget, type: string, ...rest: any[]) {
      if (type === 'abort') {
        const n = (live.get(this) ?? 0) + 1;
        live.set(this, n);
        most = Math.max(most, n);
      }
      return (originalAdd as any).call(this, type, ...rest);
    };
    EventTarget.prototype.removeEventListener = function (this: EventTarget, type: string, ...rest: any[]) {
      if (type === 'abort' && live.has(this)) live.set(this, Math.max(0, live.get(this)! - 1));
      return (originalRemove as any).call(this, type, ...rest);
    };
    return {
      most: () => most,
      restore: () => {
        EventTarget.prototype.addEventListener = originalAdd;
        EventTarget.prototype.removeEventListener = originalRemove;
      },
    };
  }

  it('20 concurrent backoffs put at most one abort listener on any signal, and shutdown wakes every one', async () => {
    const listeners = countAbortListeners();
    try {
      const clock = new FakeClock();
      const service = new RetryService(undefined, clock);
      const runs = Array.from({ length: 20 }, (_, i) =>
        watch(
          service.executeWithRetry(
            () => {
              throw new Error('down');
            },
            {
              maxAttempts: 3,
              baseDelay: 60_000,
              jitter: 'none',
              budget: false,
              // Half with a caller signal (one per call), half without.
              ...(i % 2 === 0 && { signal: new AbortController().signal }),
            },
          ),
        ),
      );
      await clock.advance(1);
      expect(clock.pendingTimers()).toBe(20);
      // Node warns (MaxListenersExceededWarning) past 10 listeners on one signal.
      expect(listeners.most()).toBe(1);
      service.beforeApplicationShutdown();
      await flushMicrotasks();
      expect(runs.map((r) => r.error && (r.error as Error).message)).toEqual(
        Array(20).fill('RetryService: the application is shutting down'),
      );
      expect(clock.pendingTimers()).toBe(0);
    } finally {
      listeners.restore();
    }
  });
});

describe('RetryService backoffs under one shared caller signal', () => {
  it('50 concurrent retried calls put one abort listener on it, without a warning; its abort wakes all', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      const clock = new FakeClock();
      const service = new RetryService(undefined, clock);
      const batch = new AbortController();
      const runs = Array.from({ length: 50 }, () =>
        watch(
          service.executeWithRetry(
            () => {
              throw new Error('down');
            },
            { name: 'batch', signal: batch.signal, budget: false, baseDelay: 1_000, jitter: 'none' },
          ),
        ),
      );
      await clock.advance(1);
      expect(clock.pendingTimers()).toBe(50);
      expect(getEventListeners(batch.signal, 'abort').length).toBeLessThanOrEqual(1);
      const reason = new Error('batch cancelled');
      batch.abort(reason);
      await flushMicrotasks();
      expect(runs.every((r) => r.error === reason)).toBe(true);
      expect(clock.pendingTimers()).toBe(0);
      expect(getEventListeners(batch.signal, 'abort')).toHaveLength(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('removes the listener when the last sleep under the signal ends normally', async () => {
    const clock = new FakeClock();
    const service = new RetryService(undefined, clock);
    const batch = new AbortController();
    const runs = Array.from({ length: 50 }, (_, i) =>
      watch(
        service.executeWithRetry((attempt) => (attempt === 1 ? Promise.reject(new Error('down')) : i), {
          signal: batch.signal,
          budget: false,
          baseDelay: 1_000 + i,
          jitter: 'none',
        }),
      ),
    );
    await clock.advance(1);
    expect(getEventListeners(batch.signal, 'abort')).toHaveLength(1);
    await clock.advance(1_047);
    expect(getEventListeners(batch.signal, 'abort')).toHaveLength(1);
    await clock.advance(1);
    expect(runs.map((r) => r.value)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(getEventListeners(batch.signal, 'abort')).toHaveLength(0);
  });
});

describe('RetryService named retry with per-call overrides', () => {
  const overloaded = () => anthropicError(529, 'overloaded_error', { 'retry-after': '30' });

  it("executeWithRetry(fn, 'anthropic', { signal }) gives fn the caller's signal, and its abort ends the backoff", async () => {
    const clock = new FakeClock();
    const retry = new RetryService(undefined, clock, {
      retries: { anthropic: { ...RetryService.PresetConfigs.HTTP, maxAttempts: 3 } },
    });
    const caller = new AbortController();
    const seen: AbortSignal[] = [];
    const run = watch(
      retry.executeWithRetry(
        (_attempt, signal) => {
          seen.push(signal);
          throw overloaded();
        },
        'anthropic',
        { signal: caller.signal },
      ),
    );
    await clock.advance(1);
    expect(seen).toEqual([caller.signal]);
    const reason = new Error('caller gone');
    caller.abort(reason);
    await flushMicrotasks();
    expect(run.error).toBe(reason);
    // The backoff's timer is gone; the budget's clock stops its own once idle.
    await clock.advance(1_000);
    expect(clock.pendingTimers()).toBe(0);
    // The named config's name (budget and metrics) still applies.
    expect(retry.getRetryMetrics('anthropic')).toMatchObject({ operations: 1, aborts: 1 });
  });

  it('overrides other fields of the named config, and rejects a bad one naming it', async () => {
    const clock = new FakeClock();
    const retry = new RetryService(undefined, clock, { retries: { anthropic: 'HTTP' } });
    const { fn, calls } = failingThen([overloaded(), overloaded()], 'ok');
    await expect(retry.executeWithRetry(fn, 'anthropic', { maxAttempts: 1 })).rejects.toMatchObject({
      status: 529,
    });
    expect(calls).toHaveLength(1);
    const bad: unknown = await retry.executeWithRetry(fn, 'anthropic', { maxAttempts: 0 }).catch((e) => e);
    expect(isReliabilityConfigError(bad)).toBe(true);
    expect(String((bad as Error).message)).toContain('retry["anthropic"].maxAttempts=0');
  });
});

describe('RetryService budget clock', () => {
  it('files calls without a clock read per call, has no timer when idle, and none after shutdown', async () => {
    const clock = new FakeClock();
    const retry = new RetryService(undefined, clock);
    const hot = { name: 'hot', maxAttempts: 2, baseDelay: 0, budget: { minPerSecond: 0 } };
    const reads = jest.spyOn(clock, 'now');
    for (let i = 0; i < 1_000; i++) await retry.executeWithRetry(() => 'ok', hot);
    // One read to start the coarse clock, not one per call.
    expect(reads.mock.calls.length).toBeLessThan(10);
    reads.mockRestore();
    expect(clock.pendingTimers()).toBe(1);
    // Calls keep coming: the timer keeps refreshing the time.
    for (let step = 0; step < 40; step++) {
      await clock.advance(250);
      await retry.executeWithRetry(() => 'ok', hot);
    }
    expect(clock.pendingTimers()).toBe(1);
    // Idle: the next refresh sees no call and stops the timer.
    await clock.advance(500);
    expect(clock.pendingTimers()).toBe(0);
    // After an hour idle, calls are filed at the real time, not at the time cached before the idle
    // spell (they would leave the window at once): 11 calls allow 2.2 retries.
    await clock.advance(3_600_000);
    for (let i = 0; i < 10; i++) await retry.executeWithRetry(() => 'ok', hot);
    const { fn } = failingThen([new Error('down')], 'ok');
    const failing = watch(retry.executeWithRetry(fn, hot));
    await clock.advance(0);
    expect(failing.value).toBe('ok');
    expect(retry.getRetryMetrics('hot')!.budgetRejections).toBe(0);
    expect(clock.pendingTimers()).toBe(1);
    retry.beforeApplicationShutdown();
    expect(clock.pendingTimers()).toBe(0);
    await retry.executeWithRetry(() => 'ok', hot);
    expect(clock.pendingTimers()).toBe(0);
  });
});
