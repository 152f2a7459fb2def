import { DynamicModule, Module } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import type { Pool } from 'pg';
import { ReliabilityModule } from '../../src';
import { PrismaClient } from '../../test/generated/prisma/client';
import { LLM_URL, LlmClient } from './llm.client';
import { MetricsController } from './metrics.controller';
import { TasksController } from './tasks.controller';

@Module({})
export class AppModule {
  /** `pool` is the app's own: it outlives Prisma's `$disconnect` and is ended by `main.ts`. */
  static register(pool: Pool, llmUrl: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ReliabilityModule.forRoot({
          database: { client: () => new PrismaClient({ adapter: new PrismaPg(pool) }), pool },
          health: { path: '/health', criticalCircuits: ['database'] },
        }),
      ],
      controllers: [TasksController, MetricsController],
      providers: [LlmClient, { provide: LLM_URL, useValue: llmUrl }],
    };
  }
}
