import { ConfigIssue, ReliabilityConfigError } from '../core/common/errors.js';
import type { DatabaseModuleOptions } from './database.options.js';

const KNOWN = [
  'client',
  'useExisting',
  'pool',
  'connectOnBoot',
  'circuitName',
  'retry',
  'transactionRetry',
  'disconnectOnShutdown',
  'shutdownPriority',
  'connectTimeout',
  'healthTimeout',
  'queryTimeout',
];

/**
 * Checks the `database` options at boot. The timings (connectTimeout...) are checked with the rest
 * of the configuration; this covers the options that are not environment variables.
 * @throws ReliabilityConfigError naming every bad field
 */
export function validateDatabaseOptions(options: DatabaseModuleOptions<unknown>): void {
  const issues: ConfigIssue[] = [];
  const add = (field: string, value: unknown, expected: string): void => {
    issues.push({ field: `database.${field}`, value, expected });
  };
  const hasClient = options.client !== undefined;
  const hasExisting = options.useExisting !== undefined;
  if (hasClient === hasExisting) {
    add(
      hasClient ? 'client' : 'client | useExisting',
      hasClient ? '[function] and useExisting' : undefined,
      'give exactly one of `client: () => new PrismaClient({ adapter })` or `useExisting: TOKEN`',
    );
  }
  if (hasClient && typeof options.client !== 'function') {
    add(
      'client',
      options.client,
      'must be a function returning the client, e.g. () => new PrismaClient({ adapter })',
    );
  }
  for (const key of ['connectOnBoot', 'disconnectOnShutdown'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean')
      add(key, options[key], 'must be true or false');
  }
  if (
    options.circuitName !== undefined &&
    (typeof options.circuitName !== 'string' || options.circuitName.trim() === '')
  ) {
    add('circuitName', options.circuitName, 'must be a non-empty string');
  }
  if (
    options.shutdownPriority !== undefined &&
    (typeof options.shutdownPriority !== 'number' || !Number.isFinite(options.shutdownPriority))
  ) {
    add('shutdownPriority', options.shutdownPriority, 'must be a finite number');
  }
  for (const key of ['retry', 'transactionRetry'] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== 'object' || value === null)) {
      add(key, value, 'must be a retry config object, e.g. { maxAttempts: 5 }');
    }
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key))
      add(
        key,
        (options as Record<string, unknown>)[key],
        `is not a known option; known: ${KNOWN.join(', ')}`,
      );
  }
  if (issues.length > 0) throw new ReliabilityConfigError(issues);
}
