import { formatValue } from '../../src/core/common/errors';
import { RetryService } from '../../src/retry/retry.service';
import {
  mergeResilienceOptions,
  validateResilienceModuleOptions,
  validateResilienceOptions,
} from '../../src/resilience/resilience-options.validation';

const ROUTE = 'UsersController.find';

function problems(options: unknown): string[] {
  return validateResilienceOptions(options, ROUTE).map(
    (i) => `${i.field}=${formatValue(i.value)}: ${i.expected}`,
  );
}

describe('validateResilienceOptions', () => {
  it('accepts every documented option', () => {
    expect(
      problems({
        enableCircuitBreaker: true,
        enableRetry: true,
        timeoutMs: 100,
        enableFallback: true,
        fallbackResponse: { items: [] },
        circuitName: 'users',
        retry: 'HTTP',
        totalTimeoutMs: 0,
        fallback: () => 'x',
        fallbackStatus: 203,
        fallbackIf: () => true,
        fallbackHeader: 'X-Served-From-Cache',
        retryNonIdempotent: false,
        circuit: { resetTimeout: 10 },
      }),
    ).toEqual([]);
    expect(problems({})).toEqual([]);
    expect(problems({ retry: { ...RetryService.PresetConfigs.FAST, baseDelay: 1 } })).toEqual([]);
  });

  it.each([
    [
      { timeoutMs: -1 },
      `${ROUTE} @UseResilience.timeoutMs=-1: must be a non-negative number of milliseconds up to 2147483647 (0 = none)`,
    ],
    [{ timeoutMs: '100' }, `${ROUTE} @UseResilience.timeoutMs="100": must be a non-negative number`],
    [{ timeoutMs: Number.NaN }, `${ROUTE} @UseResilience.timeoutMs=NaN: must be a non-negative number`],
    [{ totalTimeoutMs: Infinity }, `${ROUTE} @UseResilience.totalTimeoutMs=Infinity: must be a non-negative`],
    [
      { retry: 'TURBO' },
      `${ROUTE} @UseResilience.retry="TURBO": must be a preset (FAST, STANDARD, DATABASE, HTTP, SLOW)`,
    ],
    [{ retry: 3 }, `${ROUTE} @UseResilience.retry=3: must be a preset`],
    [
      { retry: { maxAttempts: 0 } },
      `${ROUTE} @UseResilience.retry.maxAttempts=0: must be an integer of at least 1`,
    ],
    [
      { enableFallback: true },
      `${ROUTE} @UseResilience.enableFallback=true: needs fallbackResponse or fallback`,
    ],
    [{ enableRetry: 'yes' }, `${ROUTE} @UseResilience.enableRetry="yes": must be true or false`],
    [{ fallback: 'cached' }, `${ROUTE} @UseResilience.fallback="cached": must be a function`],
    [{ fallbackStatus: 99 }, `${ROUTE} @UseResilience.fallbackStatus=99: must be an HTTP status code`],
    [
      { fallbackIf: true },
      `${ROUTE} @UseResilience.fallbackIf=true: must be a function (error, context) => boolean`,
    ],
    [
      { fallbackHeader: 'X Fallback' },
      `${ROUTE} @UseResilience.fallbackHeader="X Fallback": must be an HTTP header name (e.g. X-Fallback) or false`,
    ],
    [{ fallbackHeader: true }, `${ROUTE} @UseResilience.fallbackHeader=true: must be an HTTP header name`],
    [{ fallbackHeader: '' }, `${ROUTE} @UseResilience.fallbackHeader="": must be an HTTP header name`],
    [{ circuitName: '' }, `${ROUTE} @UseResilience.circuitName="": must be a non-empty string`],
    [{ circuit: 5 }, `${ROUTE} @UseResilience.circuit=5: must be an object of circuit options`],
    [{ timeout: 5 }, `${ROUTE} @UseResilience.timeout=5: is not a known option`],
  ])('rejects %j', (options, message) => {
    const found = problems(options);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it('reports every problem at once', () => {
    expect(problems({ timeoutMs: -5, retry: 'NOPE', enableFallback: true })).toHaveLength(3);
  });

  it('accepts enableFallback with either source of the body', () => {
    expect(problems({ enableFallback: true, fallbackResponse: null })).toEqual([]);
    expect(problems({ enableFallback: true, fallback: () => 1 })).toEqual([]);
  });
});

describe('validateResilienceModuleOptions (forRoot({ resilience }))', () => {
  const found = (options: unknown) =>
    validateResilienceModuleOptions(options).map((i) => `${i.field}=${formatValue(i.value)}: ${i.expected}`);

  it('accepts a header name, false, or nothing', () => {
    expect(found(undefined)).toEqual([]);
    expect(found({})).toEqual([]);
    expect(found({ fallbackHeader: 'X-Degraded' })).toEqual([]);
    expect(found({ fallbackHeader: false })).toEqual([]);
  });

  it('names the field and the value', () => {
    expect(found({ fallbackHeader: 'X:Degraded' })).toEqual([
      'resilience.fallbackHeader="X:Degraded": must be an HTTP header name (e.g. X-Fallback) or false',
    ]);
    expect(found({ fallbackHeadr: 'X' })[0]).toContain('resilience.fallbackHeadr="X": is not a known option');
    expect(found(5)[0]).toContain('resilience=5: must be an options object');
  });
});

describe('mergeResilienceOptions', () => {
  it('lets the method override the class field by field, ignoring undefined', () => {
    const merged = mergeResilienceOptions(
      { timeoutMs: 100, fallbackResponse: 'class', retry: 'FAST' },
      { fallbackResponse: 'method', timeoutMs: undefined, retry: { maxAttempts: 2 } },
    );
    expect(merged).toEqual({ timeoutMs: 100, fallbackResponse: 'method', retry: { maxAttempts: 2 } });
  });

  it('works with only one side', () => {
    expect(mergeResilienceOptions(undefined, { timeoutMs: 1 })).toEqual({ timeoutMs: 1 });
    expect(mergeResilienceOptions({ timeoutMs: 2 }, undefined)).toEqual({ timeoutMs: 2 });
  });
});
