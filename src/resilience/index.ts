export { UseResilience } from './use-resilience.decorator.js';
export { ResilienceSignal, resilienceSignalOf } from './resilience-signal.decorator.js';
export { ResilienceInterceptor } from './resilience.interceptor.js';
export { RESILIENCE_SIGNAL_PROPERTY } from './resilience.constants.js';
export { DEFAULT_FALLBACK_HEADER } from './resilience.options.js';
export type {
  ResilienceModuleOptions,
  ResilienceOptions,
  ResilienceFallbackContext,
  ResilienceFailureReason,
  RetryPresetName,
} from './resilience.options.js';
export type { RouteResilienceMetrics } from './resilience-metrics.js';
