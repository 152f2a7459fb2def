import { DynamicModule, Global, Module } from '@nestjs/common';
import {
  CIRCUIT_BREAKER_EXPORTS,
  CIRCUIT_BREAKER_PROVIDERS,
} from './circuit-breaker/circuit-breaker.providers.js';
import { reliabilityConfigProvider } from './config/config.provider.js';
import { DATABASE_EXPORTS, DATABASE_PROVIDERS } from './database/database.providers.js';
import { systemClock } from './core/common/clock.js';
import { RELIABILITY_CLOCK, RELIABILITY_CONFIG } from './reliability.tokens.js';
import { RELIABILITY_COPY, getThisReliabilityCopy } from './reliability-copy.js';
import {
  RELIABILITY_ASYNC_OPTIONS_TYPE,
  RELIABILITY_OPTIONS_TYPE,
  ReliabilityConfigurableModule,
} from './reliability.module-definition.js';
import { RESILIENCE_EXPORTS, RESILIENCE_PROVIDERS } from './resilience/resilience.providers.js';
import { RETRY_EXPORTS, RETRY_PROVIDERS } from './retry/retry.providers.js';
import { SHUTDOWN_EXPORTS, SHUTDOWN_IMPORTS, SHUTDOWN_PROVIDERS } from './shutdown/shutdown.providers.js';

/**
 * Import once in `AppModule`, with `forRoot()` or `forRootAsync()`; every service is then
 * injectable anywhere in the app.
 * @publicApi
 */
@Global()
@Module({
  imports: [...SHUTDOWN_IMPORTS],
  providers: [
    // Provided (not only optional) so that a test can `overrideProvider(RELIABILITY_CLOCK)`.
    { provide: RELIABILITY_CLOCK, useValue: systemClock },
    // Lets an interceptor of another copy of the package see that this module is in the app.
    { provide: RELIABILITY_COPY, useFactory: getThisReliabilityCopy },
    reliabilityConfigProvider,
    ...CIRCUIT_BREAKER_PROVIDERS,
    ...RETRY_PROVIDERS,
    ...RESILIENCE_PROVIDERS,
    ...SHUTDOWN_PROVIDERS,
    ...DATABASE_PROVIDERS,
  ],
  exports: [
    RELIABILITY_CLOCK,
    RELIABILITY_CONFIG,
    RELIABILITY_COPY,
    ...CIRCUIT_BREAKER_EXPORTS,
    ...RETRY_EXPORTS,
    ...RESILIENCE_EXPORTS,
    ...SHUTDOWN_EXPORTS,
    ...DATABASE_EXPORTS,
  ],
})
export class ReliabilityModule extends ReliabilityConfigurableModule {
  /** Registers the module with explicit options; every option is optional. */
  static override forRoot(options: typeof RELIABILITY_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  /** Registers the module with options from a factory, e.g. one that injects `ConfigService`. */
  static override forRootAsync(options: typeof RELIABILITY_ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }
}
