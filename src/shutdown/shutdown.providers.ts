import { Provider, Type } from '@nestjs/common';
import { ReliabilityHealthIndicator } from './reliability-health.indicator.js';
import { ReliabilityHealthService } from './reliability-health.service.js';
import { ShutdownDrainModule } from './shutdown-drain.module.js';
import { ShutdownService } from './shutdown.service.js';

/** Providers of the shutdown area, registered by ReliabilityModule. */
export const SHUTDOWN_PROVIDERS: Provider[] = [
  ShutdownService,
  ReliabilityHealthService,
  ReliabilityHealthIndicator,
];
export const SHUTDOWN_EXPORTS: any[] = [
  ShutdownService,
  ReliabilityHealthService,
  ReliabilityHealthIndicator,
];
/** Modules imported by ReliabilityModule: the drain hook, ordered before every other onModuleDestroy. */
export const SHUTDOWN_IMPORTS: Type[] = [ShutdownDrainModule];
