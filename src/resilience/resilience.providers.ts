import { Provider } from '@nestjs/common';
import { ResilienceExplorer } from './resilience.explorer.js';
import { ResilienceInterceptor } from './resilience.interceptor.js';
import { ResilienceRegistry } from './resilience.registry.js';

/**
 * Providers of the resilience area, registered by ReliabilityModule. There is no APP_INTERCEPTOR:
 * `@UseResilience()` attaches the interceptor to its own routes, so that the others keep Nest's
 * interceptor-free fast path (an interceptor costs two `AsyncResource.bind` per request, about
 * 30 µs of CPU on Node 20, whether or not it acts).
 */
export const RESILIENCE_PROVIDERS: Provider[] = [
  ResilienceRegistry,
  ResilienceExplorer,
  ResilienceInterceptor,
];
/** The registry is exported for the interceptor instances Nest creates in each controller's module. */
export const RESILIENCE_EXPORTS: any[] = [ResilienceInterceptor, ResilienceRegistry];
