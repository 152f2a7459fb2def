import { Provider, Type } from '@nestjs/common';
import { createHealthController } from './health.controller.js';
import { HealthOptions, resolveHealthOptions } from './health.options.js';
import { HEALTH_OPTIONS } from '../reliability.tokens.js';

export { HEALTH_OPTIONS } from '../reliability.tokens.js';

/**
 * What the module adds for the health endpoints. Health options are a static "extra" of the
 * module definition, so that `forRootAsync` can also mount controllers at a known path.
 * Invalid options throw here, when `forRoot` is called.
 */
export function healthModuleParts(health: HealthOptions | undefined): {
  controllers: Type[];
  providers: Provider[];
} {
  if (health === undefined || health === null) {
    return { controllers: [], providers: [{ provide: HEALTH_OPTIONS, useValue: null }] };
  }
  const resolved = resolveHealthOptions(health);
  return {
    controllers: [createHealthController(resolved.path)],
    providers: [{ provide: HEALTH_OPTIONS, useValue: resolved }],
  };
}
