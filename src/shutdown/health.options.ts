import { ConfigIssue, ReliabilityConfigError } from '../core/errors.js';

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
}

/** Health options after validation. */
export interface ResolvedHealthOptions {
  /** Without leading or trailing slash, e.g. `health` or `internal/health`. */
  path: string;
  criticalCircuits: string[];
  /** `undefined`: decided at startup (on when the module has a database). */
  database: boolean | undefined;
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
  const known = ['path', 'criticalCircuits', 'database'];
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
  return { path, criticalCircuits: [...new Set(circuits)], database: health.database };
}
