import { CleanupTaskRegistry } from '../../src/core/shutdown/cleanup-tasks';
import { FakeClock } from '../../src/core/common/clock';
import { TimeoutError, isReliabilityConfigError } from '../../src/core/common/errors';

describe('CleanupTaskRegistry', () => {
  let clock: FakeClock;
  let registry: CleanupTaskRegistry;
  let ran: string[];
  const task = (name: string) => () => {
    ran.push(name);
  };

  beforeEach(() => {
    clock = new FakeClock();
    registry = new CleanupTaskRegistry(5_000);
    ran = [];
  });

  it('runs by priority (highest first), then in reverse order of registration', async () => {
    registry.register('first', task('first'));
    registry.register('late', task('late'), { priority: -10 });
    registry.register('second', task('second'));
    registry.register('early', task('early'), { priority: 10 });
    registry.register('third', task('third'));
    const results = await registry.runAll(clock);
    expect(ran).toEqual(['early', 'third', 'second', 'first', 'late']);
    expect(results.map((r) => r.outcome)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
  });

  it('a disposed task does not run', async () => {
    const dispose = registry.register('gone', task('gone'));
    registry.register('kept', task('kept'));
    dispose();
    dispose();
    expect(registry.size).toBe(1);
    await registry.runAll(clock);
    expect(ran).toEqual(['kept']);
  });

  it('a throwing task is recorded as failed and the next one still runs', async () => {
    registry.register('after', task('after'));
    registry.register('boom', () => {
      throw new Error('boom');
    });
    registry.register('rejects', () => Promise.reject(new Error('nope')));
    const results = await registry.runAll(clock);
    expect(ran).toEqual(['after']);
    expect(results.map((r) => [r.name, r.outcome, r.error])).toEqual([
      ['rejects', 'failed', 'nope'],
      ['boom', 'failed', 'boom'],
      ['after', 'ok', undefined],
    ]);
  });

  it('a hanging task times out at its own timeout (aborting its signal) and the next one runs', async () => {
    let signal: AbortSignal | undefined;
    registry.register('after', task('after'));
    registry.register(
      'hang',
      (s) => {
        signal = s;
        return new Promise(() => undefined);
      },
      { timeoutMs: 1_000 },
    );
    const run = registry.runAll(clock);
    await clock.advance(999);
    expect(ran).toEqual([]);
    await clock.advance(1);
    const results = await run;
    expect(ran).toEqual(['after']);
    expect(signal?.aborted).toBe(true);
    expect(results[0]).toMatchObject({
      name: 'hang',
      outcome: 'timed_out',
      durationMs: 1_000,
      timeoutMs: 1_000,
      error: '"cleanup task hang" timed out after 1000 ms',
    });
  });

  it('uses the default timeout when none is given', async () => {
    registry.register('hang', () => new Promise(() => undefined));
    const run = registry.runAll(clock);
    await clock.advance(5_000);
    expect((await run)[0]).toMatchObject({ outcome: 'timed_out', timeoutMs: 5_000 });
  });

  it("a TimeoutError thrown by the task itself is the task's failure, not a timeout of ours", async () => {
    registry.register('own', () => Promise.reject(new TimeoutError(50, 'upstream')));
    const [result] = await registry.runAll(clock);
    expect(result.outcome).toBe('failed');
  });

  it('records start time and duration from the clock', async () => {
    registry.register('slow', () => clock.sleep(250));
    const started = clock.now();
    const run = registry.runAll(clock);
    await clock.advance(250);
    expect((await run)[0]).toMatchObject({ startedAt: started, durationMs: 250, outcome: 'ok' });
  });

  it('rejects bad arguments, naming the field and the value', () => {
    const attempt = (fn: () => void): string => {
      try {
        fn();
      } catch (error) {
        expect(isReliabilityConfigError(error)).toBe(true);
        return (error as Error).message;
      }
      throw new Error('did not throw');
    };
    expect(attempt(() => registry.register('db', task('db'), { timeoutMs: 0 }))).toContain(
      'registerCleanupTask("db").timeoutMs=0: must be a positive integer',
    );
    expect(attempt(() => registry.register('db', task('db'), { timeoutMs: 1.5 }))).toContain('timeoutMs=1.5');
    expect(attempt(() => registry.register('db', task('db'), { priority: NaN }))).toContain(
      'registerCleanupTask("db").priority=NaN: must be a finite number',
    );
    expect(attempt(() => registry.register('', task('x')))).toContain('registerCleanupTask(name)=""');
    expect(attempt(() => registry.register('x', 'nope' as never))).toContain(
      'registerCleanupTask("x").fn="nope"',
    );
  });
});
