import { Provider } from '@nestjs/common';
import { DatabaseService } from './database.service.js';

/** Providers of the database area, registered by ReliabilityModule. */
export const DATABASE_PROVIDERS: Provider[] = [DatabaseService];
export const DATABASE_EXPORTS: any[] = [DatabaseService];
