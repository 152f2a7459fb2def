import { CONFIG_SECTIONS, resolveReliabilityConfig } from '../../src/config';
import { durationMs, FieldSpec, MAX_DURATION_MS, positiveDurationMs } from '../../src/config/config-fields';
import { isReliabilityConfigError, ReliabilityConfigError } from '../../src/core/common/errors';

const fromEnv = (vars: Record<string, string>) => (name: string) => vars[name];

function errorOf(run: () => unknown): ReliabilityConfigError {
  try {
    run();
  } catch (error) {
    if (isReliabilityConfigError(error)) return error;
    throw error;
  }
  throw new Error('expected a ReliabilityConfigError');
}

describe('resolveReliabilityConfig', () => {
  it('applies the documented defaults when nothing is set', () => {
    const config = resolveReliabilityConfig({}, fromEnv({}));
    expect(config.circuitBreaker).toEqual({
      failureThreshold: 0.5,
      timeout: 60_000,
      resetTimeout: 30_000,
      volumeThreshold: 10,
      rollingWindow: 60_000,
      rollingBuckets: 10,
      halfOpenMaxCalls: 1,
      idleEvictionMs: 3_600_000,
    });
    expect(config.retry).toEqual({
      maxAttempts: 3,
      baseDelay: 1_000,
      maxDelay: 30_000,
      maxRetryAfter: 60_000,
      backoffMultiplier: 2,
      jitter: 'full',
      budgetEnabled: true,
      budgetRatio: 0.2,
      budgetWindow: 10_000,
      budgetMinPerSecond: 5,
    });
    expect(config.shutdown).toEqual({
      drainTimeout: 30_000,
      forceTimeout: 60_000,
      healthGracePeriod: 10_000,
      taskTimeout: 5_000,
      graceOnClose: false,
    });
    expect(config.database).toEqual({ connectTimeout: 30_000, healthTimeout: 2_000, queryTimeout: 10_000 });
    expect(config.warnings).toEqual([]);
  });

  // Each variable, given as the string the environment holds, lands parsed in its section.
  const envCases: [string, string, string, string, unknown][] = [
    ['CIRCUIT_BREAKER_FAILURE_THRESHOLD', '0.25', 'circuitBreaker', 'failureThreshold', 0.25],
    ['CIRCUIT_BREAKER_TIMEOUT', '1500', 'circuitBreaker', 'timeout', 1500],
    ['CIRCUIT_BREAKER_RESET_TIMEOUT', '0', 'circuitBreaker', 'resetTimeout', 0],
    ['CIRCUIT_BREAKER_VOLUME_THRESHOLD', '4', 'circuitBreaker', 'volumeThreshold', 4],
    ['CIRCUIT_BREAKER_ROLLING_WINDOW', '10000', 'circuitBreaker', 'rollingWindow', 10_000],
    ['CIRCUIT_BREAKER_ROLLING_BUCKETS', '5', 'circuitBreaker', 'rollingBuckets', 5],
    ['CIRCUIT_BREAKER_HALF_OPEN_MAX_CALLS', '3', 'circuitBreaker', 'halfOpenMaxCalls', 3],
    ['CIRCUIT_BREAKER_IDLE_EVICTION', '60000', 'circuitBreaker', 'idleEvictionMs', 60_000],
    ['RETRY_MAX_ATTEMPTS', '5', 'retry', 'maxAttempts', 5],
    ['RETRY_BASE_DELAY', '250', 'retry', 'baseDelay', 250],
    ['RETRY_MAX_DELAY', '45000', 'retry', 'maxDelay', 45_000],
    ['RETRY_MAX_RETRY_AFTER', '120000', 'retry', 'maxRetryAfter', 120_000],
    ['RETRY_BACKOFF_MULTIPLIER', '1.5', 'retry', 'backoffMultiplier', 1.5],
    ['RETRY_JITTER', 'Decorrelated', 'retry', 'jitter', 'decorrelated'],
    ['RETRY_BUDGET_ENABLED', 'false', 'retry', 'budgetEnabled', false],
    ['RETRY_BUDGET_RATIO', '0.5', 'retry', 'budgetRatio', 0.5],
    ['RETRY_BUDGET_WINDOW', '5000', 'retry', 'budgetWindow', 5000],
    ['RETRY_BUDGET_MIN_PER_SECOND', '0', 'retry', 'budgetMinPerSecond', 0],
    ['SHUTDOWN_DRAIN_TIMEOUT', '20000', 'shutdown', 'drainTimeout', 20_000],
    ['SHUTDOWN_FORCE_TIMEOUT', '90000', 'shutdown', 'forceTimeout', 90_000],
    ['SHUTDOWN_HEALTH_GRACE_PERIOD', '5000', 'shutdown', 'healthGracePeriod', 5000],
    ['SHUTDOWN_TASK_TIMEOUT', '1000', 'shutdown', 'taskTimeout', 1000],
    ['SHUTDOWN_GRACE_ON_CLOSE', 'true', 'shutdown', 'graceOnClose', true],
    ['DATABASE_CONNECT_TIMEOUT', '5000', 'database', 'connectTimeout', 5000],
    ['DATABASE_HEALTH_TIMEOUT', '500', 'database', 'healthTimeout', 500],
    ['DATABASE_QUERY_TIMEOUT', '0', 'database', 'queryTimeout', 0],
  ];

  it.each(envCases)('reads %s=%s', (name, raw, section, key, expected) => {
    const config = resolveReliabilityConfig({}, fromEnv({ [name]: raw })) as any;
    expect(config[section][key]).toEqual(expected);
  });

  it('covers every field of every section in the table above', () => {
    const tested = new Set(envCases.map(([name]) => name));
    const all = Object.values(CONFIG_SECTIONS).flatMap((fields) => fields.map((f) => f.env));
    expect(all.filter((name) => !tested.has(name))).toEqual([]);
  });

  it('prefers forRoot options over env, and env over defaults', () => {
    const config = resolveReliabilityConfig(
      { circuitBreaker: { failureThreshold: 0.9 }, retry: { maxAttempts: 7 } },
      fromEnv({ CIRCUIT_BREAKER_FAILURE_THRESHOLD: '0.1', RETRY_MAX_ATTEMPTS: '2', RETRY_BASE_DELAY: '10' }),
    );
    expect(config.circuitBreaker.failureThreshold).toBe(0.9);
    expect(config.retry.maxAttempts).toBe(7);
    expect(config.retry.baseDelay).toBe(10);
    expect(config.retry.maxDelay).toBe(30_000);
  });

  it('treats an empty env string as unset', () => {
    expect(resolveReliabilityConfig({}, fromEnv({ RETRY_MAX_ATTEMPTS: '' })).retry.maxAttempts).toBe(3);
  });

  it('accepts typed values from options and from a ConfigService that already parsed them', () => {
    const config = resolveReliabilityConfig({}, (name) =>
      name === 'CIRCUIT_BREAKER_TIMEOUT' ? 2500 : undefined,
    );
    expect(config.circuitBreaker.timeout).toBe(2500);
  });

  // Every kind of bad value, with the exact line the error prints for it.
  const badCases: [string, Record<string, string>, string][] = [
    [
      'a percentage instead of a ratio',
      { CIRCUIT_BREAKER_FAILURE_THRESHOLD: '50' },
      '  - CIRCUIT_BREAKER_FAILURE_THRESHOLD="50": must be a ratio in (0, 1], e.g. 0.5 for 50 %; 50 looks like a percentage, write 0.5',
    ],
    [
      'a ratio of 5',
      { CIRCUIT_BREAKER_FAILURE_THRESHOLD: '5' },
      '  - CIRCUIT_BREAKER_FAILURE_THRESHOLD="5": must be a ratio in (0, 1], e.g. 0.5 for 50 %; 5 looks like a percentage, write 0.05',
    ],
    [
      'a zero ratio',
      { CIRCUIT_BREAKER_FAILURE_THRESHOLD: '0' },
      '  - CIRCUIT_BREAKER_FAILURE_THRESHOLD="0": must be a ratio in (0, 1], e.g. 0.5 for 50 %',
    ],
    [
      'a non-numeric time',
      { CIRCUIT_BREAKER_TIMEOUT: '60s' },
      '  - CIRCUIT_BREAKER_TIMEOUT="60s": must be a non-negative integer number of milliseconds up to 2147483647 (about 24.8 days), e.g. 30000',
    ],
    [
      'a negative time',
      { CIRCUIT_BREAKER_RESET_TIMEOUT: '-1' },
      '  - CIRCUIT_BREAKER_RESET_TIMEOUT="-1": must be a non-negative integer number of milliseconds up to 2147483647 (about 24.8 days), e.g. 30000',
    ],
    [
      'a fractional time',
      { SHUTDOWN_DRAIN_TIMEOUT: '1.5' },
      '  - SHUTDOWN_DRAIN_TIMEOUT="1.5": must be a non-negative integer number of milliseconds up to 2147483647 (about 24.8 days), e.g. 30000',
    ],
    [
      'zero attempts',
      { RETRY_MAX_ATTEMPTS: '0' },
      '  - RETRY_MAX_ATTEMPTS="0": must be an integer of at least 1',
    ],
    [
      'a multiplier below 1',
      { RETRY_BACKOFF_MULTIPLIER: '0.5' },
      '  - RETRY_BACKOFF_MULTIPLIER="0.5": must be a number from 1 to 100',
    ],
    [
      'an unknown jitter mode',
      { RETRY_JITTER: 'random' },
      '  - RETRY_JITTER="random": must be one of full, equal, decorrelated, none',
    ],
    [
      'a bad boolean',
      { SHUTDOWN_GRACE_ON_CLOSE: 'maybe' },
      '  - SHUTDOWN_GRACE_ON_CLOSE="maybe": must be true or false',
    ],
    [
      'an empty window',
      { CIRCUIT_BREAKER_ROLLING_WINDOW: '0' },
      '  - CIRCUIT_BREAKER_ROLLING_WINDOW="0": must be a positive integer number of milliseconds up to 2147483647 (about 24.8 days), e.g. 10000',
    ],
    [
      'a max delay below the base delay',
      { RETRY_BASE_DELAY: '5000', RETRY_MAX_DELAY: '1000' },
      '  - RETRY_MAX_DELAY=1000: must be at least RETRY_BASE_DELAY (5000)',
    ],
  ];

  it.each(badCases)('rejects %s with a message naming the variable and the value', (_kind, vars, line) => {
    const error = errorOf(() => resolveReliabilityConfig({}, fromEnv(vars)));
    expect(error.message.split('\n')).toEqual([
      'Invalid nestjs-reliability configuration (1 problem):',
      line,
    ]);
  });

  const durationFields = Object.entries(CONFIG_SECTIONS).flatMap(([section, fields]) =>
    (fields as readonly FieldSpec<unknown>[])
      .filter((f) => f.parse === durationMs || f.parse === positiveDurationMs)
      .map((f) => [f.env, section, f.key] as const),
  );

  it('caps every duration field at 2^31-1 ms, naming the field and the value', () => {
    expect(durationFields.length).toBeGreaterThanOrEqual(13);
    for (const [env, section, key] of durationFields) {
      const fromVariable = errorOf(() => resolveReliabilityConfig({}, fromEnv({ [env]: '2147483648' })));
      expect(fromVariable.issues).toEqual([
        expect.objectContaining({
          field: env,
          value: '2147483648',
          expected: expect.stringContaining('2147483647'),
        }),
      ]);
      const fromOption = errorOf(() =>
        resolveReliabilityConfig({ [section]: { [key]: 3_000_000_000 } }, fromEnv({})),
      );
      expect(fromOption.issues).toEqual([
        expect.objectContaining({ field: `${section}.${key}`, value: 3_000_000_000 }),
      ]);
      expect(() =>
        resolveReliabilityConfig(
          // The largest value is accepted (base delay up to it, so max delay is not below it).
          {
            [section]: { [key]: MAX_DURATION_MS, ...(key === 'baseDelay' && { maxDelay: MAX_DURATION_MS }) },
          },
          fromEnv({}),
        ),
      ).not.toThrow();
    }
  });

  it('lists every bad field in one error', () => {
    const error = errorOf(() =>
      resolveReliabilityConfig(
        { retry: { maxAttempts: 0 } },
        fromEnv({ CIRCUIT_BREAKER_FAILURE_THRESHOLD: '50', SHUTDOWN_FORCE_TIMEOUT: 'soon' }),
      ),
    );
    expect(error.issues.map((i) => i.field)).toEqual([
      'CIRCUIT_BREAKER_FAILURE_THRESHOLD',
      'retry.maxAttempts',
      'SHUTDOWN_FORCE_TIMEOUT',
    ]);
    expect(error.message).toContain('(3 problems)');
    expect(error.message).toContain('  - retry.maxAttempts=0: must be an integer of at least 1');
  });

  it('names the option path, not the variable, for a bad forRoot value', () => {
    const error = errorOf(() =>
      resolveReliabilityConfig({ circuitBreaker: { failureThreshold: 50 } }, fromEnv({})),
    );
    expect(error.issues[0]).toMatchObject({ field: 'circuitBreaker.failureThreshold', value: 50 });
  });

  it('rejects unknown option keys, listing the known ones', () => {
    const error = errorOf(() => resolveReliabilityConfig({ retry: { attempts: 3 } as any }, fromEnv({})));
    expect(error.issues[0].field).toBe('retry.attempts');
    expect(error.issues[0].expected).toContain('known: maxAttempts, baseDelay');
  });

  it('warns, without failing, when the force timeout cannot cover grace + drain', () => {
    const config = resolveReliabilityConfig(
      {},
      fromEnv({
        SHUTDOWN_FORCE_TIMEOUT: '20000',
        SHUTDOWN_DRAIN_TIMEOUT: '15000',
        SHUTDOWN_HEALTH_GRACE_PERIOD: '10000',
      }),
    );
    expect(config.warnings).toEqual([
      'SHUTDOWN_FORCE_TIMEOUT (20000 ms) is less than SHUTDOWN_HEALTH_GRACE_PERIOD + SHUTDOWN_DRAIN_TIMEOUT ' +
        '(10000 + 15000 ms): the process will be killed before in-flight requests can drain.',
    ]);
  });
});
