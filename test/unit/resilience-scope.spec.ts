import { FakeClock } from '../../src/core/common/clock';
import { isTimeoutError, TimeoutError } from '../../src/core/common/errors';
import { RouteMetricsRecord } from '../../src/resilience/resilience-metrics';
import { AbortScope, isOwnTimeout, runScoped } from '../../src/core/policy/abort-scope';

describe('AbortScope', () => {
  it('creates no signal until asked, and a late one is already aborted with the reason', () => {
    const scope = new AbortScope();
    const reason = new Error('gone');
    scope.abort(reason);
    expect(scope.signal.aborted).toBe(true);
    expect(scope.signal.reason).toBe(reason);
  });

  it('aborts an existing signal, its child and its onAbort hook once', () => {
    const parent = new AbortScope();
    const child = new AbortScope();
    parent.child = child;
    const signal = parent.signal;
    const onAbort = jest.fn();
    parent.onAbort = onAbort;
    parent.abort('first');
    parent.abort('second');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('first');
    expect(child.aborted).toBe(true);
    expect(child.reason).toBe('first');
    expect(onAbort).toHaveBeenCalledTimes(1);
  });

  it('ignores an onAbort hook that throws', () => {
    const scope = new AbortScope();
    scope.onAbort = () => {
      throw new Error('teardown failed');
    };
    expect(() => scope.abort('x')).not.toThrow();
  });
});

describe('runScoped', () => {
  it('rejects with its own TimeoutError after ms, aborts the scope and counts the timeout', async () => {
    const clock = new FakeClock();
    const scope = new AbortScope();
    const counter = new RouteMetricsRecord('r');
    const signal = scope.signal;
    const outcome = runScoped(
      () => new Promise<never>(() => undefined),
      100,
      clock,
      scope,
      'r',
      counter,
    ).catch((e: unknown) => e);
    await clock.advance(99);
    expect(signal.aborted).toBe(false);
    await clock.advance(1);
    const error = await outcome;
    expect(isTimeoutError(error)).toBe(true);
    expect((error as TimeoutError).timeoutMs).toBe(100);
    expect((error as TimeoutError).operation).toBe('r');
    expect(isOwnTimeout(error)).toBe(true);
    expect(signal.reason).toBe(error);
    expect(counter.timeouts).toBe(1);
  });

  it('settles with the result and leaves no deadline behind to fire later', async () => {
    const clock = new FakeClock();
    const scope = new AbortScope();
    const counter = new RouteMetricsRecord('r');
    await expect(runScoped(() => Promise.resolve(42), 100, clock, scope, 'r', counter)).resolves.toBe(42);
    await clock.advance(1_000);
    expect(scope.aborted).toBe(false);
    expect(counter.timeouts).toBe(0);
  });

  it('ignores a late result after the timeout', async () => {
    const clock = new FakeClock();
    let finish!: (v: string) => void;
    const outcome = runScoped(
      () => new Promise<string>((resolve) => (finish = resolve)),
      10,
      clock,
      new AbortScope(),
      'r',
    ).then(
      (v) => ['value', v],
      (e: unknown) => ['error', isTimeoutError(e)],
    );
    await clock.advance(10);
    finish('late');
    expect(await outcome).toEqual(['error', true]);
  });

  it('passes errors through unchanged, sync or async, with or without a deadline', async () => {
    const clock = new FakeClock();
    const boom = new Error('boom');
    for (const ms of [0, 50]) {
      await expect(runScoped(() => Promise.reject(boom), ms, clock, new AbortScope(), 'r')).rejects.toBe(
        boom,
      );
      await expect(
        runScoped(
          () => {
            throw boom;
          },
          ms,
          clock,
          new AbortScope(),
          'r',
        ),
      ).rejects.toBe(boom);
    }
  });

  it('does not mark a handler’s own TimeoutError as ours', () => {
    expect(isOwnTimeout(new TimeoutError(5, 'downstream'))).toBe(false);
    expect(isOwnTimeout('string')).toBe(false);
  });
});

describe('RouteMetricsRecord', () => {
  it('snapshots copies and resets', () => {
    const record = new RouteMetricsRecord('n');
    record.routes.push('A.b');
    record.requests = 3;
    record.latency.record(5);
    const snap = record.snapshot();
    snap.routes.push('mutated');
    expect(record.snapshot()).toMatchObject({
      name: 'n',
      routes: ['A.b'],
      requests: 3,
      latency: { count: 1 },
    });
    record.reset();
    expect(record.snapshot()).toMatchObject({ requests: 0, latency: { count: 0 } });
  });
});
