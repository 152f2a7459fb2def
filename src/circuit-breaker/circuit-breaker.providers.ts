import { Provider } from '@nestjs/common';
import { CircuitBreakerService } from './circuit-breaker.service.js';

/** Providers of the circuit breaker area, registered by ReliabilityModule. */
export const CIRCUIT_BREAKER_PROVIDERS: Provider[] = [CircuitBreakerService];
export const CIRCUIT_BREAKER_EXPORTS: any[] = [CircuitBreakerService];
