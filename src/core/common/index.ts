export * from './clock.js';
export * from './deadline.js';
export * from './error-shapes.js';
export * from './errors.js';
export * from './latency-histogram.js';
export * from './rolling-window.js';
export * from './is-thenable.js';
