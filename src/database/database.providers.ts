import { Provider } from '@nestjs/common';

/** Providers of the database area, registered by ReliabilityModule. */
export const DATABASE_PROVIDERS: Provider[] = [];
export const DATABASE_EXPORTS: any[] = [];
