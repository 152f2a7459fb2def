export type { CircuitOptions } from './circuit-breaker.options.js';
