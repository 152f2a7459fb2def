export { DatabaseService } from './database.service.js';
export type { DatabaseHealth, DatabaseOperation } from './database.service.js';
export type {
  DatabaseCallContext,
  DatabaseCallOptions,
  DatabaseModuleOptions,
  DatabaseTransactionOptions,
} from './database.options.js';
export type { DatabaseMetrics } from './database-metrics.js';
export type {
  DatabaseIsolationLevel,
  PgPoolLike,
  PrismaClientLike,
  TransactionClientOf,
} from './database.types.js';
export {
  classifyDatabaseError,
  DatabaseConnectError,
  isDatabaseConnectError,
  isTransactionConflict,
  isTransientDatabaseError,
} from '../core/classification/database-errors.js';
export type { DatabaseErrorClass } from '../core/classification/database-errors.js';
