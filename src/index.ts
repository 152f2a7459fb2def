/**
 * nestjs-reliability: the public API, every name listed. `api/nestjs-reliability.api.md` is its report;
 * `npm test` fails when this surface changes without the report being updated (`npm run api:update`).
 */

// The module and its options
export type { CircuitBreakerDefaults } from './config/circuit-breaker.config.js';
export type { DatabaseConfig } from './config/database.config.js';
export { resolveReliabilityConfig } from './config/reliability-config.js';
export type { EnvSource, ReliabilityConfig, ReliabilityConfigInput } from './config/reliability-config.js';
export type { RetryDefaults } from './config/retry.config.js';
export type { ShutdownConfig } from './config/shutdown.config.js';
export type { ReliabilityModuleOptions } from './reliability-options.interface.js';
export type { ReliabilityModuleExtras } from './reliability.module-definition.js';
export { ReliabilityModule } from './reliability.module.js';
export { RELIABILITY_CLOCK, RELIABILITY_CONFIG, RELIABILITY_MODULE_OPTIONS } from './reliability.tokens.js';

// Circuit breaker
export type { CircuitExecuteOptions, CircuitOptions } from './circuit-breaker/circuit-breaker.options.js';
export { CircuitBreakerService } from './circuit-breaker/circuit-breaker.service.js';
export type {
  CircuitCallOutcome,
  CircuitCallOutcomeKind,
  CircuitStateChange,
  CircuitTransitionReason,
} from './core/circuit-breaker/events.js';
export type { CircuitMetrics, CircuitTotals } from './core/circuit-breaker/metrics.js';
export { CircuitBreakerRegistry } from './core/circuit-breaker/registry.js';
export type { CircuitBreakerRegistryOptions } from './core/circuit-breaker/registry.js';
export { DEFAULT_CIRCUIT_SETTINGS } from './core/circuit-breaker/settings.js';
export type { CircuitBreakerSettings } from './core/circuit-breaker/settings.js';
export type { CircuitBreakerContext } from './core/circuit-breaker/shared.js';
export { CircuitBreaker } from './core/circuit-breaker/circuit-breaker.js';
export type {
  CircuitCallOptions,
  CircuitFallback,
  CircuitFn,
} from './core/circuit-breaker/circuit-breaker.js';

// Retry
export { backoffDelays, createBackoff, exponentialDelay } from './core/retry/backoff.js';
export type { Backoff, BackoffOptions, JitterMode, RandomSource } from './core/retry/backoff.js';
export { DEFAULT_RETRY_BUDGET, RetryBudget } from './core/retry/budget.js';
export type { RetryBudgetLimits } from './core/retry/budget.js';
export {
  isRetryableDatabaseError,
  isRetryableError,
  isRetryableHttpError,
} from './core/classification/retry-classification.js';
export { parseRetryAfter, retryAfterMsOf } from './core/classification/retry-after.js';
export {
  createRetryPolicy,
  createRetryStats,
  DEFAULT_RETRY_POLICY,
  getRetryAttempts,
  retry,
  retryAfterJitterMs,
} from './core/retry/retry.js';
export type {
  RetryableFunction,
  RetryEvent,
  RetryOptions,
  RetryPolicy,
  RetryPolicyOptions,
  RetryStats,
} from './core/retry/retry.js';
export type { NamedRetryConfig, RetryConfig, RetryMetrics, RetryPresetName } from './retry/retry.options.js';
export { RetryService } from './retry/retry.service.js';

// Route resilience
export type { RouteResilienceMetrics } from './resilience/resilience-metrics.js';
export { ResilienceSignal, resilienceSignalOf } from './resilience/resilience-signal.decorator.js';
export { RESILIENCE_SIGNAL_PROPERTY } from './resilience/resilience.constants.js';
export { ResilienceInterceptor } from './resilience/resilience.interceptor.js';
export { DEFAULT_FALLBACK_HEADER } from './resilience/resilience.options.js';
export type {
  ResilienceFailureReason,
  ResilienceFallbackContext,
  ResilienceModuleOptions,
  ResilienceOptions,
} from './resilience/resilience.options.js';
export { UseResilience } from './resilience/use-resilience.decorator.js';

// Shutdown and health
export type {
  CleanupTaskFn,
  CleanupTaskOptions,
  CleanupTaskOutcome,
  CleanupTaskResult,
} from './core/shutdown/cleanup-tasks.js';
export type { ShutdownMetrics, ShutdownTrigger } from './core/shutdown/coordinator.js';
export { SHUTDOWN_PHASES } from './core/shutdown/phases.js';
export type { ShutdownPhase } from './core/shutdown/phases.js';
export type { HealthCheckDetail, HealthCheckFunction, HealthCheckOption } from './shutdown/health-checks.js';
export type { HealthOptions } from './shutdown/health.options.js';
export { ReliabilityHealthIndicator } from './shutdown/reliability-health.indicator.js';
export type { TerminusIndicatorResult } from './shutdown/reliability-health.indicator.js';
export { ReliabilityHealthService } from './shutdown/reliability-health.service.js';
export type { HealthReport, HealthSnapshot } from './shutdown/reliability-health.service.js';
export { ShutdownService } from './shutdown/shutdown.service.js';

// Database
export {
  classifyDatabaseError,
  DatabaseConnectError,
  isDatabaseConnectError,
  isTransactionConflict,
  isTransientDatabaseError,
} from './core/classification/database-errors.js';
export type { DatabaseErrorClass } from './core/classification/database-errors.js';
export type { DatabaseMetrics } from './database/database-metrics.js';
export type {
  DatabaseCallContext,
  DatabaseCallOptions,
  DatabaseModuleOptions,
  DatabaseTransactionOptions,
} from './database/database.options.js';
export { DatabaseService } from './database/database.service.js';
export type { DatabaseHealth, DatabaseOperation } from './database/database.service.js';
export type {
  DatabaseIsolationLevel,
  PgPoolLike,
  PrismaClientLike,
  TransactionClientOf,
} from './database/database.types.js';

// Errors, classification and time
export { FakeClock, flushMicrotasks, systemClock } from './core/common/clock.js';
export type { Clock, TimerHandle } from './core/common/clock.js';
export { statusOf } from './core/common/error-shapes.js';
export {
  CircuitOpenError,
  isCircuitOpenError,
  isReliabilityConfigError,
  isTimeoutError,
  ReliabilityConfigError,
  TimeoutError,
} from './core/common/errors.js';
export type { CircuitState, ConfigIssue } from './core/common/errors.js';
export { defaultIsFailure } from './core/classification/failure-classification.js';
export type { LatencySummary } from './core/common/latency-histogram.js';
