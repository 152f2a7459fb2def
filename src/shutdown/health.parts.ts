import { Provider, Type } from '@nestjs/common';
import { HealthOptions } from './health.options.js';

/** Injection token of the health options given to `forRoot` / `forRootAsync` (or `null`). */
export const HEALTH_OPTIONS = Symbol.for('nestjs-reliability.health-options');

/**
 * What the module adds for the health endpoints. Health options are a static "extra" of the
 * module definition, so that `forRootAsync` can also mount controllers at a known path.
 */
export function healthModuleParts(health: HealthOptions | undefined): {
  controllers: Type[];
  providers: Provider[];
} {
  return { controllers: [], providers: [{ provide: HEALTH_OPTIONS, useValue: health ?? null }] };
}
