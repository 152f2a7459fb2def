import { Provider } from '@nestjs/common';
import { RetryService } from './retry.service.js';

/** Providers of the retry area, registered by ReliabilityModule. */
export const RETRY_PROVIDERS: Provider[] = [RetryService];
export const RETRY_EXPORTS: any[] = [RetryService];
