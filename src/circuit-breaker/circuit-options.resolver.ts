import { CircuitBreakerSettings, DEFAULT_CIRCUIT_SETTINGS } from '../core/circuit-breaker/settings.js';
import { ConfigIssue, ReliabilityConfigError } from '../core/common/errors.js';
import type { CircuitBreakerDefaults } from '../config/circuit-breaker.config.js';
import { rollingBucketsParser } from '../config/circuit-breaker.config.js';
import {
  durationMs,
  intAtLeast,
  isInvalid,
  Parser,
  positiveDurationMs,
  ratio,
} from '../config/config-fields.js';
import type { CircuitOptions } from './circuit-breaker.options.js';

type NumericKey = Exclude<keyof CircuitOptions, 'isFailure'>;

// The same parsers as the CIRCUIT_BREAKER_* variables, so a value means the same in both places.
const PARSERS: Record<NumericKey, Parser<number>> = {
  failureThreshold: ratio,
  timeout: durationMs,
  resetTimeout: durationMs,
  volumeThreshold: intAtLeast(1),
  rollingWindow: positiveDurationMs,
  rollingBuckets: rollingBucketsParser,
  halfOpenMaxCalls: intAtLeast(1),
  slowCallThreshold: positiveDurationMs,
  slowCallRate: ratio,
  externalTimeout: durationMs,
};
const KNOWN = [...Object.keys(PARSERS), 'isFailure'];

/** The module-wide defaults as complete circuit settings. */
export function settingsFromDefaults(defaults: CircuitBreakerDefaults): CircuitBreakerSettings {
  return Object.freeze({
    ...DEFAULT_CIRCUIT_SETTINGS,
    failureThreshold: defaults.failureThreshold,
    timeout: defaults.timeout,
    resetTimeout: defaults.resetTimeout,
    volumeThreshold: defaults.volumeThreshold,
    rollingWindow: defaults.rollingWindow,
    rollingBuckets: defaults.rollingBuckets,
    halfOpenMaxCalls: defaults.halfOpenMaxCalls,
  });
}

/**
 * Checks one circuit's options and lays them over `base`. Collects every problem into `issues`,
 * each naming the field (`<where>.<key>`) and the value; returns `undefined` if there was any.
 */
export function resolveCircuitOptions(
  where: string,
  options: unknown,
  base: CircuitBreakerSettings,
  issues: ConfigIssue[],
  /** True for the options of one `execute()`, which may also carry the per-call `signal`. */
  perCall = false,
): CircuitBreakerSettings | undefined {
  if (options === undefined || options === null) return base;
  if (typeof options !== 'object' || Array.isArray(options)) {
    issues.push({ field: where, value: options, expected: 'must be an object of circuit options' });
    return undefined;
  }
  const before = issues.length;
  const given = options as Record<string, unknown>;
  const out: Record<string, unknown> = { ...base };
  for (const [key, raw] of Object.entries(given)) {
    if (raw === undefined) continue;
    const field = `${where}.${key}`;
    if (perCall && key === 'signal') {
      if (typeof raw !== 'boolean') issues.push({ field, value: raw, expected: 'must be true or false' });
      continue;
    }
    if (key === 'isFailure') {
      if (typeof raw === 'function') out.isFailure = raw;
      else issues.push({ field, value: raw, expected: 'must be a function (error) => boolean' });
      continue;
    }
    const parse = PARSERS[key as NumericKey];
    if (!parse) {
      issues.push({ field, value: raw, expected: `is not a circuit option; known: ${KNOWN.join(', ')}` });
      continue;
    }
    const value = parse(raw);
    if (isInvalid(value)) issues.push({ field, value: raw, expected: value.invalid });
    else out[key] = value;
  }
  const hasThreshold = given.slowCallThreshold !== undefined;
  const hasRate = given.slowCallRate !== undefined;
  if (hasThreshold !== hasRate) {
    const [missing, present] = hasRate
      ? (['slowCallThreshold', 'slowCallRate'] as const)
      : (['slowCallRate', 'slowCallThreshold'] as const);
    issues.push({
      field: `${where}.${present}`,
      value: given[present],
      expected: `needs ${missing} too: slow-call tripping uses both`,
    });
  }
  return issues.length > before ? undefined : Object.freeze(out as unknown as CircuitBreakerSettings);
}

/**
 * Validates `forRoot({ circuits })` at startup: throws one {@link ReliabilityConfigError} naming
 * every bad field of every circuit.
 */
export function resolveConfiguredCircuits(
  circuits: unknown,
  base: CircuitBreakerSettings,
): Map<string, CircuitBreakerSettings> {
  const resolved = new Map<string, CircuitBreakerSettings>();
  if (circuits === undefined || circuits === null) return resolved;
  const issues: ConfigIssue[] = [];
  if (typeof circuits !== 'object' || Array.isArray(circuits)) {
    issues.push({ field: 'circuits', value: circuits, expected: 'must be an object keyed by circuit name' });
  } else {
    for (const [name, options] of Object.entries(circuits)) {
      const settings = resolveCircuitOptions(`circuits.${name}`, options, base, issues);
      if (settings) resolved.set(name, settings);
    }
  }
  if (issues.length > 0) throw new ReliabilityConfigError(issues);
  return resolved;
}

const SETTING_KEYS = Object.keys(DEFAULT_CIRCUIT_SETTINGS) as (keyof CircuitBreakerSettings)[];

/**
 * The fields in which `wanted` differs from `live`, as `field: wanted (live in use)` (for a
 * warning). `given`: compare only the fields that these options set.
 */
export function circuitSettingsDiff(
  wanted: CircuitBreakerSettings,
  live: CircuitBreakerSettings,
  given?: object,
): string[] {
  const diffs: string[] = [];
  for (const key of SETTING_KEYS) {
    if (given !== undefined && (given as Record<string, unknown>)[key] === undefined) continue;
    const a = wanted[key];
    const b = live[key];
    if (key === 'isFailure') {
      if (!sameFunction(a as CircuitBreakerSettings['isFailure'], b as CircuitBreakerSettings['isFailure'])) {
        diffs.push('isFailure: another function');
      }
    } else if (a !== b) {
      diffs.push(`${key}: ${String(a)} (${String(b)} in use)`);
    }
  }
  return diffs;
}

/**
 * True when the options of one call agree with a live circuit's settings, checked cheaply: every
 * option given equals the live value, or is one that `configured` (the circuit's forRoot options,
 * which win) sets. (String values are not parsed, so `false` only means "look closer".)
 */
export function optionsMatchLive(
  options: object,
  live: CircuitBreakerSettings,
  configured?: object,
): boolean {
  const given = options as Record<string, unknown>;
  const fixed = configured as Record<string, unknown> | undefined;
  for (const key in given) {
    const raw = given[key];
    if (raw === undefined || key === 'signal') continue;
    if (fixed !== undefined && fixed[key] !== undefined) continue;
    const current = (live as unknown as Record<string, unknown>)[key];
    if (raw === current) continue;
    if (
      key === 'isFailure' &&
      typeof raw === 'function' &&
      sameFunction(raw as () => boolean, live.isFailure)
    ) {
      continue;
    }
    return false;
  }
  return true;
}

/**
 * One call site passes a new closure on every call (`isFailure: (e) => ...`): the same source text
 * is the same classifier, for the purpose of warning about conflicting options.
 */
function sameFunction(a: (error: unknown) => boolean, b: (error: unknown) => boolean): boolean {
  return a === b || String(a) === String(b);
}
