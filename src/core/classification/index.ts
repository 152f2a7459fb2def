export * from './database-codes.js';
export * from './database-errors.js';
export * from './failure-classification.js';
export * from './http-status.js';
export * from './retry-after.js';
export * from './retry-classification.js';
