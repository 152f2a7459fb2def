/**
 * Field parsers for configuration. Each turns a raw value (a string from the environment, or a
 * typed value from `forRoot`) into a checked value, or returns an {@link Invalid} saying what is allowed.
 */
import { MAX_TIMER_MS } from '../core/common/clock.js';

/** A parse failure: what the field allows. */
export interface Invalid {
  readonly invalid: string;
}

export type Parser<T> = (raw: unknown) => T | Invalid;

export function isInvalid(value: unknown): value is Invalid {
  return typeof value === 'object' && value !== null && 'invalid' in value;
}

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function toNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string' && NUMERIC.test(raw.trim())) return Number(raw.trim());
  return undefined;
}

/** A ratio in (0, 1]. Values such as 5 or 50 get a percentage hint. */
export const ratio: Parser<number> = (raw) => {
  const n = toNumber(raw);
  const allowed = 'must be a ratio in (0, 1], e.g. 0.5 for 50 %';
  if (n === undefined || !Number.isFinite(n)) return { invalid: allowed };
  if (n > 1 && n <= 100) return { invalid: `${allowed}; ${n} looks like a percentage, write ${n / 100}` };
  if (n <= 0 || n > 1) return { invalid: allowed };
  return n;
};

/**
 * The longest duration any field accepts: 2^31-1 ms (about 24.8 days), the longest delay Node's
 * timers arm as given.
 */
export const MAX_DURATION_MS = MAX_TIMER_MS;

/** A non-negative whole number of milliseconds, at most {@link MAX_DURATION_MS}. */
export const durationMs: Parser<number> = (raw) => {
  const n = toNumber(raw);
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > MAX_DURATION_MS) {
    return {
      invalid: `must be a non-negative integer number of milliseconds up to ${MAX_DURATION_MS} (about 24.8 days), e.g. 30000`,
    };
  }
  return n;
};

/** A positive whole number of milliseconds (a window or a period that cannot be empty), at most {@link MAX_DURATION_MS}. */
export const positiveDurationMs: Parser<number> = (raw) => {
  const n = toNumber(raw);
  if (n === undefined || !Number.isInteger(n) || n < 1 || n > MAX_DURATION_MS) {
    return {
      invalid: `must be a positive integer number of milliseconds up to ${MAX_DURATION_MS} (about 24.8 days), e.g. 10000`,
    };
  }
  return n;
};

/** A whole number at least `min`. */
export function intAtLeast(min: number): Parser<number> {
  return (raw) => {
    const n = toNumber(raw);
    if (n === undefined || !Number.isInteger(n) || n < min) {
      return { invalid: `must be an integer of at least ${min}` };
    }
    return n;
  };
}

/** A finite number in [min, max]. */
export function numberBetween(min: number, max: number): Parser<number> {
  return (raw) => {
    const n = toNumber(raw);
    if (n === undefined || !Number.isFinite(n) || n < min || n > max) {
      return { invalid: `must be a number from ${min} to ${max}` };
    }
    return n;
  };
}

/** One of a fixed set of strings (case-insensitive for env strings). */
export function oneOf<T extends string>(...values: readonly T[]): Parser<T> {
  return (raw) => {
    const s = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
    const hit = values.find((v) => v === s);
    return hit ?? { invalid: `must be one of ${values.join(', ')}` };
  };
}

/** `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`). */
export const bool: Parser<boolean> = (raw) => {
  if (typeof raw === 'boolean') return raw;
  const s = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
  if (s === 'true' || s === '1' || s === 'yes' || s === 'on') return true;
  if (s === 'false' || s === '0' || s === 'no' || s === 'off') return false;
  return { invalid: 'must be true or false' };
};

/**
 * One configurable value: its `forRoot` option, its environment variable, its default and its parser.
 * The table of these is the single source for parsing, validation, `.env.example` and the README.
 */
export interface FieldSpec<T = unknown> {
  /** Environment variable, e.g. `RETRY_MAX_ATTEMPTS`. */
  readonly env: string;
  /** Key inside its `forRoot` section, e.g. `maxAttempts`. */
  readonly key: string;
  readonly default: T;
  readonly parse: Parser<T>;
  /** One line for `.env.example` and the README. */
  readonly description: string;
}

export function field<T>(spec: FieldSpec<T>): FieldSpec<T> {
  return spec;
}
