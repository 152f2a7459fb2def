export type { DatabaseModuleOptions } from './database.options.js';
