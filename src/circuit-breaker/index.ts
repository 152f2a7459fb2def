export type { CircuitExecuteOptions, CircuitOptions } from './circuit-breaker.options.js';
export { CircuitBreakerService } from './circuit-breaker.service.js';
export { defaultIsFailure } from '../core/classification/failure-classification.js';
export type { CircuitMetrics, CircuitTotals } from '../core/circuit-breaker/metrics.js';
export type {
  CircuitCallOutcome,
  CircuitCallOutcomeKind,
  CircuitStateChange,
  CircuitTransitionReason,
} from '../core/circuit-breaker/events.js';
// The framework-free core, for use without Nest.
export { CircuitBreaker } from '../core/circuit-breaker/circuit-breaker.js';
export type {
  CircuitBreakerContext,
  CircuitCallOptions,
  CircuitFallback,
  CircuitFn,
} from '../core/circuit-breaker/circuit-breaker.js';
export { CircuitBreakerRegistry } from '../core/circuit-breaker/registry.js';
export type { CircuitBreakerRegistryOptions } from '../core/circuit-breaker/registry.js';
export { DEFAULT_CIRCUIT_SETTINGS } from '../core/circuit-breaker/settings.js';
export type { CircuitBreakerSettings } from '../core/circuit-breaker/settings.js';
