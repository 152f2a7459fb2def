import { bool, durationMs, field, positiveDurationMs } from './config-fields.js';

/** Graceful shutdown timings, after parsing. @publicApi */
export interface ShutdownConfig {
  /** Time in-flight requests get to finish after the grace period, in ms; the rest are cut. @default 30000 */
  drainTimeout: number;
  /** After a signal, the process is ended with exit code 1 at this point, in ms (0 = never). @default 60000 */
  forceTimeout: number;
  /** After a signal, readiness reports 503 for this long, still serving, before draining starts, in ms. @default 10000 */
  healthGracePeriod: number;
  /** Default time limit of each cleanup task, in ms. @default 5000 */
  taskTimeout: number;
  /** Whether a programmatic `app.close()` (no signal) also waits the grace period. @default false */
  graceOnClose: boolean;
}

export const SHUTDOWN_FIELDS = [
  field({
    env: 'SHUTDOWN_DRAIN_TIMEOUT',
    key: 'drainTimeout',
    default: 30_000,
    parse: durationMs,
    description:
      'Time in-flight requests get to finish after the grace period, in ms; the rest are cut and counted',
  }),
  field({
    env: 'SHUTDOWN_FORCE_TIMEOUT',
    key: 'forceTimeout',
    default: 60_000,
    parse: durationMs,
    description:
      'Force exit (code 1) this long after the signal, in ms (0 = never); keep it >= grace + drain + cleanup tasks, ' +
      'and below Kubernetes terminationGracePeriodSeconds',
  }),
  field({
    env: 'SHUTDOWN_HEALTH_GRACE_PERIOD',
    key: 'healthGracePeriod',
    default: 10_000,
    parse: durationMs,
    description:
      'After a signal, readiness is 503 for this long while the app still serves, so load balancers stop routing, ' +
      'in ms; a second signal ends it early',
  }),
  field({
    env: 'SHUTDOWN_TASK_TIMEOUT',
    key: 'taskTimeout',
    default: 5_000,
    parse: positiveDurationMs,
    description: 'Default time limit of each cleanup task (registerCleanupTask), in ms',
  }),
  field({
    env: 'SHUTDOWN_GRACE_ON_CLOSE',
    key: 'graceOnClose',
    default: false,
    parse: bool,
    description:
      'Also wait the grace period on a programmatic app.close() (no signal); the drain and tasks always run',
  }),
] as const;
