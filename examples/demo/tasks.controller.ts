import { Body, Controller, Get, NotFoundException, Param, Post } from '@nestjs/common';
import { DatabaseService, ResilienceSignal, UseResilience } from '../../src';
import type { PrismaClient } from '../../test/generated/prisma/client';
import { LlmClient } from './llm.client';

/** Bytebot-like tasks: the database behind DatabaseService, summaries from the LLM behind a fallback. */
@Controller('tasks')
@UseResilience({ enableCircuitBreaker: true, timeoutMs: 5_000 })
export class TasksController {
  constructor(
    private readonly db: DatabaseService<PrismaClient>,
    private readonly llm: LlmClient,
  ) {}

  @Get()
  @UseResilience({ retry: 'FAST' })
  list() {
    return this.db.executeWithReliability((prisma) =>
      prisma.task.findMany({ orderBy: { createdAt: 'desc' }, take: 50 }),
    );
  }

  /** A retried create is a no-op thanks to the idempotency key. */
  @Post()
  create(@Body() body: { description?: string; idempotencyKey?: string }) {
    const description = body?.description ?? 'Open the browser and take a screenshot';
    const idempotencyKey = body?.idempotencyKey;
    return this.db.executeWithReliability((prisma) =>
      idempotencyKey
        ? prisma.task.upsert({
            where: { idempotencyKey },
            create: { description, idempotencyKey },
            update: {},
          })
        : prisma.task.create({ data: { description } }),
    );
  }

  @Get(':id/summary')
  @UseResilience({
    timeoutMs: 3_000,
    fallbackResponse: { summary: null, note: 'The model is busy; the summary will be ready later.' },
  })
  async summary(@Param('id') id: string, @ResilienceSignal() signal: AbortSignal) {
    const task = await this.db.executeWithReliability((prisma) => prisma.task.findUnique({ where: { id } }));
    if (!task) throw new NotFoundException(`No task ${id}`);
    signal.throwIfAborted();
    return { id, summary: await this.llm.summarize(task.description) };
  }
}
