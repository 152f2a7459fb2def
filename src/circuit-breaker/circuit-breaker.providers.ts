import { Provider } from '@nestjs/common';

/** Providers of the circuit breaker area, registered by ReliabilityModule. */
export const CIRCUIT_BREAKER_PROVIDERS: Provider[] = [];
export const CIRCUIT_BREAKER_EXPORTS: any[] = [];
