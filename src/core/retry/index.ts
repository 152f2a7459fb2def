export * from './backoff.js';
export * from './budget.js';
export * from './presets.js';
export * from './registry.js';
export * from './retry.js';
