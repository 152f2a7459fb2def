/**
 * The server side of bench/resilience.bench.ts, in its own process so that autocannon and the app
 * do not share an event loop. `node -r ./bench/resilience-ts-hook.cjs bench/resilience-server.ts
 * <express|fastify> <bare|module>`; sends `{ port }` to the parent once listening, and
 * `{ cpu }` (its `process.cpuUsage()`) when sent `'cpu'`.
 */
import 'reflect-metadata';
import {
  CallHandler,
  Controller,
  ExecutionContext,
  Get,
  Module,
  NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ReliabilityModule } from '../src/reliability.module';
import { UseResilience } from '../src/resilience';

/** Does nothing: what any interceptor costs in Nest, before it does anything. */
class EmptyInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler) {
    return next.handle();
  }
}

@Controller()
class PlainController {
  /** Undecorated. */
  @Get('plain')
  plain(): { hello: string } {
    return { hello: 'world' };
  }
}

@Controller()
class BenchController {
  /** The same body behind an interceptor that does nothing. */
  @Get('empty-interceptor')
  @UseInterceptors(EmptyInterceptor)
  emptyInterceptor(): { hello: string } {
    return { hello: 'world' };
  }

  /** The same body behind breaker + retry + attempt timeout, all succeeding. */
  @Get('resilient')
  @UseResilience({ retry: 'FAST', timeoutMs: 1_000 })
  resilient(): { hello: string } {
    return { hello: 'world' };
  }
}

async function main(): Promise<void> {
  const [adapter, kind] = process.argv.slice(2);
  @Module({
    imports: kind === 'module' ? [ReliabilityModule.forRoot({ env: {} })] : [],
    // `@UseResilience()` needs the module: the app without it serves the plain route only.
    controllers: kind === 'module' ? [PlainController, BenchController] : [PlainController],
  })
  class BenchModule {}
  const app =
    adapter === 'fastify'
      ? await NestFactory.create(BenchModule, new FastifyAdapter(), { logger: false })
      : await NestFactory.create(BenchModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as { port: number }).port;
  process.send?.({ port });
  // CPU time is what the bench divides by the requests served: steadier than req/s on a busy machine.
  process.on('message', (m: unknown) => {
    if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  });
  process.on('disconnect', () => void app.close().then(() => process.exit(0)));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
