import { INestApplication, Type } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { ReliabilityModule } from '../../src/reliability.module';
import type { ReliabilityModuleOptions } from '../../src/reliability-options.interface';

/** The HTTP adapters every resilience e2e test runs over. */
export const RESILIENCE_ADAPTERS = ['express', 'fastify'] as const;
export type AdapterName = (typeof RESILIENCE_ADAPTERS)[number];

export interface StartedApp {
  app: INestApplication;
  /** `http://127.0.0.1:<port>` */
  url: string;
}

/** Builds (but does not start) a Nest app with the given controllers, with or without ReliabilityModule. */
export async function buildResilienceApp(
  adapter: AdapterName,
  controllers: Type[],
  options: ReliabilityModuleOptions | false = {},
  imports: Type[] = [],
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [...(options === false ? [] : [ReliabilityModule.forRoot({ env: {}, ...options })]), ...imports],
    controllers,
  }).compile();
  return adapter === 'fastify'
    ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
    : moduleRef.createNestApplication({ logger: false });
}

/** Builds and starts the app on a free port of 127.0.0.1. */
export async function startResilienceApp(
  adapter: AdapterName,
  controllers: Type[],
  options: ReliabilityModuleOptions | false = {},
  imports: Type[] = [],
): Promise<StartedApp> {
  const app = await buildResilienceApp(adapter, controllers, options, imports);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  return { app, url };
}

/** Resolves after `ms` of real time (e2e only: waits for a real circuit's reset timeout). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
