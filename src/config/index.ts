export * from './circuit-breaker.config.js';
export * from './database.config.js';
export * from './reliability-config.js';
export * from './retry.config.js';
export * from './shutdown.config.js';
