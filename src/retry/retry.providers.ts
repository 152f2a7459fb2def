import { Provider } from '@nestjs/common';

/** Providers of the retry area, registered by ReliabilityModule. */
export const RETRY_PROVIDERS: Provider[] = [];
export const RETRY_EXPORTS: any[] = [];
