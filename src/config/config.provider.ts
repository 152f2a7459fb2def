import { Logger, Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { RELIABILITY_CONFIG, RELIABILITY_MODULE_OPTIONS } from '../reliability.tokens.js';
import { ReliabilityModuleOptions } from '../reliability-options.interface.js';
import { EnvSource, resolveReliabilityConfig } from './reliability-config.js';

/**
 * Finds the app's `ConfigService` without making `@nestjs/config` a hard dependency:
 * it is imported only if installed, and used only if the app registered it.
 */
async function configServiceSource(moduleRef: ModuleRef): Promise<EnvSource | undefined> {
  let ConfigService: any;
  try {
    ({ ConfigService } = await import('@nestjs/config'));
  } catch {
    return undefined;
  }
  let service: { get(key: string): unknown } | null;
  try {
    service = moduleRef.get(ConfigService, { strict: false });
  } catch {
    return undefined; // the app did not register ConfigModule
  }
  // Nest instantiates modules concurrently, so ConfigService may be registered but not built yet.
  // It is a plain factory provider: a few turns of the event loop are enough.
  for (let turn = 0; !service && turn < 100; turn++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    service = moduleRef.get(ConfigService, { strict: false });
  }
  if (!service) return undefined;
  const ready = service;
  return (name) => ready.get(name);
}

/** Picks the variable source: explicit `env` option, then `ConfigService`, then `process.env`. */
export async function envSourceFor(
  options: ReliabilityModuleOptions,
  moduleRef: ModuleRef,
): Promise<EnvSource> {
  if (options.env) {
    const env = options.env;
    return (name) => env[name];
  }
  return (await configServiceSource(moduleRef)) ?? ((name) => process.env[name]);
}

/** Resolves and validates the configuration once, at startup; a bad value stops boot. */
export const reliabilityConfigProvider: Provider = {
  provide: RELIABILITY_CONFIG,
  inject: [RELIABILITY_MODULE_OPTIONS, ModuleRef],
  useFactory: async (options: ReliabilityModuleOptions, moduleRef: ModuleRef) => {
    const config = resolveReliabilityConfig(
      {
        circuitBreaker: options.circuitBreaker,
        retry: options.retry,
        shutdown: options.shutdown,
        database: pickDefined({
          connectTimeout: options.database?.connectTimeout,
          healthTimeout: options.database?.healthTimeout,
          queryTimeout: options.database?.queryTimeout,
        }),
      },
      await envSourceFor(options, moduleRef),
    );
    const logger = new Logger('ReliabilityModule');
    for (const warning of config.warnings) logger.warn(warning);
    return config;
  },
};

function pickDefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
