import { ConfigIssue, ReliabilityConfigError } from '../core/common/errors.js';
import { DEFAULT_HEALTH_CHECK_TIMEOUT_MS, HealthCheckOption, ResolvedHealthCheck } from './health-checks.js';

/**
 * Opt-in health endpoints: `GET {path}/live` and `GET {path}/ready`.
 * @publicApi
 */
export interface HealthOptions {
  /** Base path of the endpoints. @default '/health' */
  path?: string;
  /** Readiness is 503 while any of these circuits is open. @default [] */
  criticalCircuits?: string[];
  /** Readiness runs the database check (`SELECT 1`). @default true when a database is configured */
  database?: boolean;
  /**
   * Custom readiness checks, shown in `/health/ready` under their names. Each is a function or
   * `{ check, timeoutMs }`; it fails when it throws, rejects, returns `false` or passes its
   * timeout (1000 ms unless given). A check still running past its timeout is not called again
   * until it settles: meanwhile it is down. Not run during the shutdown.
   * @default {}
   */
  checks?: Record<string, HealthCheckOption>;
}

/** Health options after validation. */
export interface ResolvedHealthOptions {
  /** Without leading or trailing slash, e.g. `health` or `internal/health`. */
  path: string;
  criticalCircuits: string[];
  /** `undefined`: decided at startup (on when the module has a database). */
  database: boolean | undefined;
  checks: ResolvedHealthCheck[];
}

/** Names that the built-in checks use in the readiness report. */
const RESERVED_CHECK_NAMES = ['shutdown', 'database'];

function resolveChecks(raw: unknown, issues: ConfigIssue[]): ResolvedHealthCheck[] {
  if (raw === undefined) return [];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    issues.push({ field: 'health.checks', value: raw, expected: 'must be an object of named checks' });
    return [];
  }
  const checks: ResolvedHealthCheck[] = [];
  for (const [name, option] of Object.entries(raw as Record<string, unknown>)) {
    const field = `health.checks.${name}`;
    if (name === '' || RESERVED_CHECK_NAMES.includes(name) || name.startsWith('circuit:')) {
      issues.push({
        field,
        value: name,
        expected: `is a reserved name (${RESERVED_CHECK_NAMES.join(', ')}, circuit:*); choose another`,
      });
      continue;
    }
    if (name === '__proto__') {
      // As a key of a plain object it sets the prototype: the check would vanish from the report.
      issues.push({ field, value: name, expected: 'cannot be a check name; choose another' });
      continue;
    }
    if (typeof option === 'function') {
      checks.push({
        name,
        check: option as ResolvedHealthCheck['check'],
        timeoutMs: DEFAULT_HEALTH_CHECK_TIMEOUT_MS,
      });
      continue;
    }
    const shaped =
      typeof option === 'object' && option !== null ? (option as Record<string, unknown>) : undefined;
    if (shaped === undefined || typeof shaped.check !== 'function') {
      issues.push({
        field,
        value: option,
        expected: 'must be a function or { check: function, timeoutMs?: number }',
      });
      continue;
    }
    const timeoutMs = shaped.timeoutMs ?? DEFAULT_HEALTH_CHECK_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      issues.push({
        field: `${field}.timeoutMs`,
        value: timeoutMs,
        expected: 'must be a number of ms above 0',
      });
      continue;
    }
    const unknown = Object.keys(shaped).filter((k) => k !== 'check' && k !== 'timeoutMs');
    if (unknown.length > 0) {
      issues.push({
        field: `${field}.${unknown[0]}`,
        value: shaped[unknown[0]],
        expected: 'is not a known option; known: check, timeoutMs',
      });
      continue;
    }
    checks.push({ name, check: shaped.check as ResolvedHealthCheck['check'], timeoutMs });
  }
  return checks;
}

/** Validates `forRoot({ health })`; throws one {@link ReliabilityConfigError} naming each bad field. */
export function resolveHealthOptions(health: HealthOptions): ResolvedHealthOptions {
  const issues: ConfigIssue[] = [];
  const raw = health.path ?? '/health';
  let path = '';
  if (typeof raw !== 'string' || !/^\/?[A-Za-z0-9._~\-/]*$/.test(raw)) {
    issues.push({ field: 'health.path', value: raw, expected: "must be a URL path such as '/health'" });
  } else {
    path = raw.replace(/^\/+|\/+$/g, '');
  }
  const circuits = health.criticalCircuits ?? [];
  if (!Array.isArray(circuits) || circuits.some((c) => typeof c !== 'string' || c === '')) {
    issues.push({
      field: 'health.criticalCircuits',
      value: circuits,
      expected: 'must be an array of circuit names (non-empty strings)',
    });
  }
  if (health.database !== undefined && typeof health.database !== 'boolean') {
    issues.push({ field: 'health.database', value: health.database, expected: 'must be true or false' });
  }
  const checks = resolveChecks(health.checks, issues);
  const known = ['path', 'criticalCircuits', 'database', 'checks'];
  for (const key of Object.keys(health)) {
    if (!known.includes(key)) {
      issues.push({
        field: `health.${key}`,
        value: (health as Record<string, unknown>)[key],
        expected: `is not a known option; known: ${known.join(', ')}`,
      });
    }
  }
  if (issues.length > 0) throw new ReliabilityConfigError(issues);
  return { path, criticalCircuits: [...new Set(circuits)], database: health.database, checks };
}
