export type { HealthOptions } from './health.options.js';
export type { HealthCheckFunction, HealthCheckOption } from './health-checks.js';
export { ShutdownService } from './shutdown.service.js';
export { ReliabilityHealthService } from './reliability-health.service.js';
export type { HealthCheckDetail, HealthReport, HealthSnapshot } from './reliability-health.service.js';
export { ReliabilityHealthIndicator } from './reliability-health.indicator.js';
export type { TerminusIndicatorResult } from './reliability-health.indicator.js';
export { SHUTDOWN_PHASES } from '../core/shutdown/phases.js';
export type { ShutdownPhase } from '../core/shutdown/phases.js';
export type { ShutdownMetrics, ShutdownTrigger } from '../core/shutdown/coordinator.js';
export type {
  CleanupTaskFn,
  CleanupTaskOptions,
  CleanupTaskOutcome,
  CleanupTaskResult,
} from '../core/shutdown/cleanup-tasks.js';
