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
