import { ConfigIssue, isReliabilityConfigError, ReliabilityConfigError } from '../core/common/errors.js';
import { createRetryPolicy, RetryPolicy } from '../core/retry/retry.js';
import type { RetryConfig, RetryPresetName } from './retry.options.js';
import { RETRY_PRESETS } from '../core/retry/presets.js';

const PRESET_NAMES = Object.keys(RETRY_PRESETS) as RetryPresetName[];

/** True for `'FAST'`, `'STANDARD'`, `'DATABASE'`, `'HTTP'` or `'SLOW'`. */
export function isRetryPresetName(value: unknown): value is RetryPresetName {
  return typeof value === 'string' && (PRESET_NAMES as string[]).includes(value);
}

/**
 * Validates `forRoot({ retries })` at startup, over the module's retry defaults: throws one
 * {@link ReliabilityConfigError} naming every bad entry and field. Each entry is a preset name or
 * a retry config; its `name` (the budget and metrics key) defaults to the entry's own name, so
 * every caller of `'anthropic'` shares one budget. Returns the configs, frozen, by name.
 */
export function resolveNamedRetries(retries: unknown, defaults: RetryPolicy): Map<string, RetryConfig> {
  const resolved = new Map<string, RetryConfig>();
  if (retries === undefined || retries === null) return resolved;
  const issues: ConfigIssue[] = [];
  if (typeof retries !== 'object' || Array.isArray(retries)) {
    issues.push({ field: 'retries', value: retries, expected: 'must be an object keyed by retry name' });
    throw new ReliabilityConfigError(issues);
  }
  const presets = `a preset (${PRESET_NAMES.join(', ')}) or a retry config`;
  for (const [name, entry] of Object.entries(retries as Record<string, unknown>)) {
    const field = `retries.${name}`;
    if (name === '' || isRetryPresetName(name)) {
      issues.push({
        field,
        value: entry,
        expected: name === '' ? 'needs a non-empty name' : `${name} is a preset's name: choose another name`,
      });
      continue;
    }
    let config: RetryConfig;
    if (typeof entry === 'string') {
      if (!isRetryPresetName(entry)) {
        issues.push({ field, value: entry, expected: `must be ${presets}` });
        continue;
      }
      config = { ...RETRY_PRESETS[entry], name };
    } else if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
      config = { ...(entry as RetryConfig), name: (entry as RetryConfig).name ?? name };
    } else {
      issues.push({ field, value: entry, expected: `must be ${presets}` });
      continue;
    }
    try {
      createRetryPolicy(config, defaults);
    } catch (error) {
      if (!isReliabilityConfigError(error)) throw error;
      // `retry["anthropic"].maxAttempts` → `retries.anthropic.maxAttempts`
      issues.push(
        ...error.issues.map((i) => ({ ...i, field: i.field.replace(/^retry(\[[^\]]*\])?/, field) })),
      );
      continue;
    }
    resolved.set(name, Object.freeze(config));
  }
  if (issues.length > 0) throw new ReliabilityConfigError(issues);
  return resolved;
}

/** The error of a retry name that is neither in `forRoot({ retries })` nor a preset. */
export function unknownRetryName(field: string, name: unknown, known: Iterable<string>): ConfigIssue {
  const names = [...known];
  return {
    field,
    value: name,
    expected:
      `must be a preset (${PRESET_NAMES.join(', ')}) or a name from forRoot({ retries }) ` +
      `(${names.length > 0 ? names.join(', ') : 'none defined'})`,
  };
}
