import { CircuitOptions } from './circuit-breaker/circuit-breaker.options.js';
import { CircuitBreakerDefaults } from './config/circuit-breaker.config.js';
import { RetryDefaults } from './config/retry.config.js';
import { ShutdownConfig } from './config/shutdown.config.js';
import { DatabaseModuleOptions } from './database/database.options.js';
import type { NamedRetryConfig } from './retry/retry.options.js';
import { HealthOptions } from './shutdown/health.options.js';
import type { ResilienceModuleOptions } from './resilience/resilience.options.js';

/**
 * Options of `ReliabilityModule.forRoot()`. Every value here wins over its environment variable,
 * which wins over the documented default.
 * @publicApi
 */
export interface ReliabilityModuleOptions {
  /** Defaults of every circuit (`CIRCUIT_BREAKER_*`). */
  circuitBreaker?: Partial<CircuitBreakerDefaults>;
  /** Options of named circuits, applied when each is first used. */
  circuits?: Record<string, CircuitOptions>;
  /** Retry defaults (`RETRY_*`). */
  retry?: Partial<RetryDefaults>;
  /**
   * Named retries, each a preset name or a retry config, used by name:
   * `executeWithRetry(fn, 'anthropic')`, `@UseResilience({ retry: 'anthropic' })`. Validated at startup.
   */
  retries?: Record<string, NamedRetryConfig>;
  /** Graceful shutdown timings (`SHUTDOWN_*`). */
  shutdown?: Partial<ShutdownConfig>;
  /** The app's Prisma client, wrapped by DatabaseService. */
  database?: DatabaseModuleOptions<any>;
  /** Module-wide options of `@UseResilience()` routes (the fallback header). */
  resilience?: ResilienceModuleOptions;
  /** Opt-in `/health/live` and `/health/ready` endpoints. */
  health?: HealthOptions;
  /**
   * Where variables are read from. By default `ConfigService` when the app imports `ConfigModule`,
   * else `process.env`.
   */
  env?: Record<string, string | undefined>;
}
