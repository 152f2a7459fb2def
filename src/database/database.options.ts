import { InjectionToken } from '@nestjs/common';

/**
 * How the app hands its own Prisma client to the library. Exactly one of `client` or `useExisting`.
 * @publicApi
 */
export interface DatabaseModuleOptions<TClient = unknown> {
  /** Creates the app's client, e.g. `() => new PrismaClient({ adapter })`. */
  client?: () => TClient | Promise<TClient>;
  /** A provider token under which the app already registers its client. */
  useExisting?: InjectionToken;
  /** Connect at boot with retry (within DATABASE_CONNECT_TIMEOUT). @default true */
  connectOnBoot?: boolean;
  /** Name of the breaker used by `executeWithReliability`. @default 'database' */
  circuitName?: string;
  connectTimeout?: number;
  healthTimeout?: number;
  queryTimeout?: number;
}
