import { ConfigIssue, isReliabilityConfigError } from '../core/common/errors.js';
import { MAX_TIMER_MS } from '../core/common/clock.js';
import { createRetryPolicy } from '../core/retry/retry.js';
import { RETRY_PRESETS } from '../core/retry/presets.js';
import { unknownRetryName } from '../retry/retry-names.js';
import type { ResilienceModuleOptions, ResilienceOptions } from './resilience.options.js';

const KNOWN_KEYS: ReadonlyArray<keyof ResilienceOptions> = [
  'enableCircuitBreaker',
  'enableRetry',
  'timeoutMs',
  'enableFallback',
  'fallbackResponse',
  'circuitName',
  'retry',
  'totalTimeoutMs',
  'fallback',
  'fallbackIf',
  'fallbackStatus',
  'fallbackHeader',
  'retryNonIdempotent',
  'circuit',
];
const BOOLEAN_KEYS = ['enableCircuitBreaker', 'enableRetry', 'enableFallback', 'retryNonIdempotent'] as const;
const DURATION_KEYS = ['timeoutMs', 'totalTimeoutMs'] as const;
const PRESET_NAMES = Object.keys(RETRY_PRESETS);

/**
 * Merges class and method options: a field set on the method wins, an unset (`undefined`) one
 * keeps the class's. Nested objects (`retry`, `circuit`) are replaced, not merged.
 */
export function mergeResilienceOptions(
  classOptions: ResilienceOptions | undefined,
  methodOptions: ResilienceOptions | undefined,
): ResilienceOptions {
  const merged: Record<string, unknown> = {};
  for (const source of [classOptions, methodOptions]) {
    if (source === undefined || source === null) continue;
    for (const [key, value] of Object.entries(source)) if (value !== undefined) merged[key] = value;
  }
  return merged as ResilienceOptions;
}

/**
 * Every problem of one route's options, each naming the route and the field
 * (`UsersController.find @UseResilience.timeoutMs`). Empty when valid.
 */
export function validateResilienceOptions(
  options: unknown,
  route: string,
  /** The names of `forRoot({ retries })`, allowed as `retry: 'name'`. */
  retryNames: readonly string[] = [],
): ConfigIssue[] {
  const at = (key: string): string => `${route} @UseResilience.${key}`;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return [{ field: `${route} @UseResilience`, value: options, expected: 'must be an options object' }];
  }
  const o = options as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(o)) {
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) {
      issues.push({
        field: at(key),
        value: o[key],
        expected: `is not a known option; known: ${KNOWN_KEYS.join(', ')}`,
      });
    }
  }
  for (const key of BOOLEAN_KEYS) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') {
      issues.push({ field: at(key), value: o[key], expected: 'must be true or false' });
    }
  }
  for (const key of DURATION_KEYS) {
    const v = o[key];
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && v <= MAX_TIMER_MS)) {
      issues.push({
        field: at(key),
        value: v,
        expected: `must be a non-negative number of milliseconds up to ${MAX_TIMER_MS} (0 = none)`,
      });
    }
  }
  if (o.circuitName !== undefined && !(typeof o.circuitName === 'string' && o.circuitName.length > 0)) {
    issues.push({ field: at('circuitName'), value: o.circuitName, expected: 'must be a non-empty string' });
  }
  issues.push(...retryIssues(o.retry, at('retry'), retryNames));
  if (o.fallback !== undefined && typeof o.fallback !== 'function') {
    issues.push({
      field: at('fallback'),
      value: o.fallback,
      expected: 'must be a function (error, context) => body',
    });
  }
  if (o.fallbackIf !== undefined && typeof o.fallbackIf !== 'function') {
    issues.push({
      field: at('fallbackIf'),
      value: o.fallbackIf,
      expected: 'must be a function (error, context) => boolean',
    });
  }
  issues.push(...fallbackHeaderIssues(o.fallbackHeader, at('fallbackHeader')));
  const status = o.fallbackStatus;
  if (
    status !== undefined &&
    !(Number.isInteger(status) && (status as number) >= 100 && (status as number) <= 599)
  ) {
    issues.push({
      field: at('fallbackStatus'),
      value: status,
      expected: 'must be an HTTP status code (100-599)',
    });
  }
  if (o.enableFallback === true && o.fallbackResponse === undefined && o.fallback === undefined) {
    issues.push({
      field: at('enableFallback'),
      value: true,
      expected: 'needs fallbackResponse or fallback(error, context) to know what to serve',
    });
  }
  if (
    o.circuit !== undefined &&
    (typeof o.circuit !== 'object' || o.circuit === null || Array.isArray(o.circuit))
  ) {
    issues.push({ field: at('circuit'), value: o.circuit, expected: 'must be an object of circuit options' });
  }
  return issues;
}

/** Every problem of `forRoot({ resilience })`, each naming the field (`resilience.fallbackHeader`). */
export function validateResilienceModuleOptions(options: unknown): ConfigIssue[] {
  if (options === undefined) return [];
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return [{ field: 'resilience', value: options, expected: 'must be an options object' }];
  }
  const o = options as Record<string, unknown>;
  const issues: ConfigIssue[] = [];
  const known: ReadonlyArray<keyof ResilienceModuleOptions> = ['fallbackHeader'];
  for (const key of Object.keys(o)) {
    if (!(known as readonly string[]).includes(key)) {
      issues.push({
        field: `resilience.${key}`,
        value: o[key],
        expected: `is not a known option; known: ${known.join(', ')}`,
      });
    }
  }
  issues.push(...fallbackHeaderIssues(o.fallbackHeader, 'resilience.fallbackHeader'));
  return issues;
}

/** An HTTP field name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function fallbackHeaderIssues(header: unknown, field: string): ConfigIssue[] {
  if (header === undefined || header === false) return [];
  if (typeof header === 'string' && HEADER_NAME.test(header)) return [];
  return [{ field, value: header, expected: 'must be an HTTP header name (e.g. X-Fallback) or false' }];
}

function retryIssues(retry: unknown, field: string, retryNames: readonly string[]): ConfigIssue[] {
  if (retry === undefined) return [];
  if (typeof retry === 'string') {
    if (PRESET_NAMES.includes(retry) || retryNames.includes(retry)) return [];
    const issue = unknownRetryName(field, retry, retryNames);
    return [{ ...issue, expected: `${issue.expected}, or a retry config` }];
  }
  if (typeof retry !== 'object' || retry === null || Array.isArray(retry)) {
    return [
      { field, value: retry, expected: `must be a preset (${PRESET_NAMES.join(', ')}) or a retry config` },
    ];
  }
  try {
    createRetryPolicy(retry);
    return [];
  } catch (error) {
    if (!isReliabilityConfigError(error)) throw error;
    // `retry["name"].maxAttempts` → `Users.find @UseResilience.retry.maxAttempts`
    return error.issues.map((i) => ({ ...i, field: i.field.replace(/^retry(\[[^\]]*\])?/, field) }));
  }
}
