import { durationMs, field, positiveDurationMs } from './config-fields.js';

/** Database wrapper timings, after parsing. @publicApi */
export interface DatabaseConfig {
  /** How long boot keeps retrying `$connect`, in ms. @default 30000 */
  connectTimeout: number;
  /** Time limit of the readiness `SELECT 1`, in ms. @default 2000 */
  healthTimeout: number;
  /** Time limit of one database call under `executeWithReliability`, in ms (0 = the circuit default). @default 10000 */
  queryTimeout: number;
}

export const DATABASE_FIELDS = [
  field({
    env: 'DATABASE_CONNECT_TIMEOUT',
    key: 'connectTimeout',
    default: 30_000,
    parse: durationMs,
    description: 'How long boot retries $connect before failing, in ms',
  }),
  field({
    env: 'DATABASE_HEALTH_TIMEOUT',
    key: 'healthTimeout',
    default: 2_000,
    parse: positiveDurationMs,
    description: 'Time limit of the readiness SELECT 1, in ms',
  }),
  field({
    env: 'DATABASE_QUERY_TIMEOUT',
    key: 'queryTimeout',
    default: 10_000,
    parse: durationMs,
    description: 'Time limit of one call through executeWithReliability, in ms (0 = the circuit default)',
  }),
] as const;
