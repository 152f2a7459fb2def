import { ConfigurableModuleBuilder } from '@nestjs/common';
import { ReliabilityModuleOptions } from './reliability-options.interface.js';
import { RELIABILITY_MODULE_OPTIONS } from './reliability.tokens.js';
import { HealthOptions } from './shutdown/health.options.js';
import { healthModuleParts } from './shutdown/health.parts.js';

/** Options known when the module is defined, for `forRoot` and `forRootAsync` alike. @publicApi */
export interface ReliabilityModuleExtras {
  /** Opt-in health endpoints; their path must be known before the async factory runs. */
  health?: HealthOptions;
}

/** The one definition behind `forRoot` and `forRootAsync`; its options token lives in the tokens file. */
export const {
  ConfigurableModuleClass: ReliabilityConfigurableModule,
  OPTIONS_TYPE: RELIABILITY_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: RELIABILITY_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ReliabilityModuleOptions>({
  moduleName: 'Reliability',
  optionsInjectionToken: RELIABILITY_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createReliabilityOptions')
  .setExtras<ReliabilityModuleExtras>({ health: undefined }, (definition, extras) => {
    const health = healthModuleParts(extras.health);
    return {
      ...definition,
      global: true,
      controllers: [...(definition.controllers ?? []), ...health.controllers],
      providers: [...(definition.providers ?? []), ...health.providers],
    };
  })
  .build();
