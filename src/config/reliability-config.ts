import { ConfigIssue, ReliabilityConfigError } from '../core/common/errors.js';
import { CIRCUIT_BREAKER_FIELDS, CircuitBreakerDefaults } from './circuit-breaker.config.js';
import { FieldSpec, isInvalid } from './config-fields.js';
import { DATABASE_FIELDS, DatabaseConfig } from './database.config.js';
import { RETRY_FIELDS, RetryDefaults } from './retry.config.js';
import { SHUTDOWN_FIELDS, ShutdownConfig } from './shutdown.config.js';

/** Reads one environment variable; `undefined` when unset. @publicApi */
export type EnvSource = (name: string) => unknown;

/** Every value the library reads from options or the environment, parsed and validated once at startup. @publicApi */
export interface ReliabilityConfig {
  circuitBreaker: CircuitBreakerDefaults;
  retry: RetryDefaults;
  shutdown: ShutdownConfig;
  database: DatabaseConfig;
  /** Problems that do not stop boot, already phrased for the log. */
  warnings: string[];
}

/** The explicit values a user may pass to `forRoot`, section by section. @publicApi */
export interface ReliabilityConfigInput {
  circuitBreaker?: Partial<CircuitBreakerDefaults>;
  retry?: Partial<RetryDefaults>;
  shutdown?: Partial<ShutdownConfig>;
  database?: Partial<DatabaseConfig>;
}

/** All sections, for the README and `.env.example` generators and the config test. */
export const CONFIG_SECTIONS = {
  circuitBreaker: CIRCUIT_BREAKER_FIELDS,
  retry: RETRY_FIELDS,
  shutdown: SHUTDOWN_FIELDS,
  database: DATABASE_FIELDS,
} as const;

function resolveSection<T>(
  section: string,
  fields: readonly FieldSpec<any>[],
  explicit: Record<string, unknown> | undefined,
  env: EnvSource,
  issues: ConfigIssue[],
): T {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const fromOption = explicit?.[f.key];
    const fromEnv = fromOption === undefined ? env(f.env) : undefined;
    const usesEnv = fromOption === undefined && fromEnv !== undefined && fromEnv !== '';
    const raw = fromOption !== undefined ? fromOption : usesEnv ? fromEnv : f.default;
    const parsed = f.parse(raw);
    if (isInvalid(parsed)) {
      issues.push({ field: usesEnv ? f.env : `${section}.${f.key}`, value: raw, expected: parsed.invalid });
      out[f.key] = f.default;
    } else {
      out[f.key] = parsed;
    }
  }
  for (const key of Object.keys(explicit ?? {})) {
    if (!fields.some((f) => f.key === key)) {
      issues.push({
        field: `${section}.${key}`,
        value: explicit![key],
        expected: `is not a known option; known: ${fields.map((f) => f.key).join(', ')}`,
      });
    }
  }
  return out as T;
}

/**
 * Resolves the configuration: explicit options first, then the environment, then the defaults.
 * Throws one {@link ReliabilityConfigError} naming every bad value.
 * @publicApi
 */
export function resolveReliabilityConfig(
  input: ReliabilityConfigInput = {},
  env: EnvSource = (name) => process.env[name],
): ReliabilityConfig {
  const issues: ConfigIssue[] = [];
  const section = <T>(name: keyof typeof CONFIG_SECTIONS): T =>
    resolveSection<T>(name, CONFIG_SECTIONS[name], input[name] as Record<string, unknown>, env, issues);
  const config: ReliabilityConfig = {
    circuitBreaker: section<CircuitBreakerDefaults>('circuitBreaker'),
    retry: section<RetryDefaults>('retry'),
    shutdown: section<ShutdownConfig>('shutdown'),
    database: section<DatabaseConfig>('database'),
    warnings: [],
  };
  if (config.retry.maxDelay < config.retry.baseDelay) {
    issues.push({
      field: 'RETRY_MAX_DELAY',
      value: config.retry.maxDelay,
      expected: `must be at least RETRY_BASE_DELAY (${config.retry.baseDelay})`,
    });
  }
  if (issues.length > 0) throw new ReliabilityConfigError(issues);

  const { drainTimeout, healthGracePeriod, forceTimeout } = config.shutdown;
  if (forceTimeout < drainTimeout + healthGracePeriod) {
    config.warnings.push(
      `SHUTDOWN_FORCE_TIMEOUT (${forceTimeout} ms) is less than SHUTDOWN_HEALTH_GRACE_PERIOD + SHUTDOWN_DRAIN_TIMEOUT ` +
        `(${healthGracePeriod} + ${drainTimeout} ms): the process will be killed before in-flight requests can drain.`,
    );
  }
  return config;
}
