export type { HealthOptions } from './health.options.js';
