export * from './database-errors.js';
export * from './failure-classification.js';
export * from './retry-classification.js';
