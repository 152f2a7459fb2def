export * from './cleanup-tasks.js';
export * from './coordinator.js';
export * from './http-request-tracker.js';
export * from './in-flight-tracker.js';
export * from './phases.js';
export * from './signal-observer.js';
