export * from './abort-scope.js';
