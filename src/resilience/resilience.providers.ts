import { Provider } from '@nestjs/common';

/** Providers of the resilience area, registered by ReliabilityModule. */
export const RESILIENCE_PROVIDERS: Provider[] = [];
export const RESILIENCE_EXPORTS: any[] = [];
