/**
 * nestjs-reliability: the public API. Only what users need is exported here.
 */
export * from './core/index.js';
export * from './config/index.js';
export { RELIABILITY_CLOCK, RELIABILITY_CONFIG } from './reliability.tokens.js';
export type { ReliabilityModuleOptions } from './reliability-options.interface.js';
export { RELIABILITY_MODULE_OPTIONS } from './reliability.tokens.js';
export type { ReliabilityModuleExtras } from './reliability.module-definition.js';
export { ReliabilityModule } from './reliability.module.js';
export * from './circuit-breaker/index.js';
export * from './retry/index.js';
export * from './resilience/index.js';
export * from './shutdown/index.js';
export * from './database/index.js';
