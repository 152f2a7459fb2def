import { Provider } from '@nestjs/common';

/** Providers of the shutdown area, registered by ReliabilityModule. */
export const SHUTDOWN_PROVIDERS: Provider[] = [];
export const SHUTDOWN_EXPORTS: any[] = [];
