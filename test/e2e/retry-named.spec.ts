/**
 * Named retries, `forRoot({ retries })`, through a real Nest testing module and HTTP: used by name
 * from `executeWithRetry(fn, 'anthropic')` and from `@UseResilience({ retry: 'anthropic' })`, one
 * budget and one metrics entry per name, and bad or unknown names stopping boot.
 */
import { Controller, Get, HttpException, INestApplication, Logger, Module, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FakeClock } from '../../src/core/common/clock';
import { isReliabilityConfigError } from '../../src/core/common/errors';
import { RELIABILITY_CLOCK } from '../../src/reliability.tokens';
import { ReliabilityModule } from '../../src/reliability.module';
import type { ReliabilityModuleOptions } from '../../src/reliability-options.interface';
import { UseResilience } from '../../src/resilience';
import { RetryService } from '../../src/retry';
import { ReliabilityTestingModule } from '../../src/testing';

const clock = new FakeClock();
const calls = { service: 0, route: 0 };

@Controller()
class AgentController {
  constructor(private readonly retry: RetryService) {}

  /** A provider call retried by name: fails with 529 until the third attempt. */
  @Get('summarize')
  async summarize() {
    calls.service = 0;
    return this.retry.executeWithRetry(async (attempt) => {
      calls.service++;
      if (attempt < 3) throw Object.assign(new Error('overloaded'), { status: 529 });
      return { attempt };
    }, 'anthropic');
  }

  /** The same name on a route: the route's attempts follow forRoot({ retries: { anthropic } }). */
  @Get('route')
  @UseResilience({ retry: 'anthropic', enableCircuitBreaker: false, timeoutMs: 0 })
  route() {
    calls.route++;
    throw new HttpException('overloaded', 503);
  }

  @Get('unknown')
  async unknown() {
    try {
      await this.retry.executeWithRetry(() => 'never', 'antropic');
      return { ok: true };
    } catch (error) {
      return { configError: isReliabilityConfigError(error), message: (error as Error).message };
    }
  }

  @Get('metrics')
  metrics() {
    return this.retry.getAllRetryMetrics();
  }
}

function appModule(options: ReliabilityModuleOptions, controllers: Type[] = [AgentController]): Type {
  @Module({
    imports: [
      ReliabilityModule.forRoot({ env: { RETRY_JITTER: 'none', RETRY_MAX_ATTEMPTS: '2' }, ...options }),
    ],
    controllers,
  })
  class AppModule {}
  return AppModule;
}

async function boot(module: Type): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [module] })
    .overrideProvider(RELIABILITY_CLOCK)
    .useValue(clock)
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

/** Runs a request to completion while moving the fake clock, so backoffs pass without real sleeps. */
async function drive<T>(pending: PromiseLike<T>, stepMs = 100): Promise<T> {
  let done = false;
  const result = Promise.resolve(pending).finally(() => {
    done = true;
  });
  for (let i = 0; i < 1_000 && !done; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    await clock.advance(stepMs);
  }
  return result;
}

async function bootError(module: Type): Promise<Error> {
  try {
    const app = await boot(module);
    await app.close();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected boot to fail');
}

describe('named retries: forRoot({ retries })', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await boot(
      appModule({
        retries: {
          anthropic: { ...RetryService.PresetConfigs.HTTP, maxAttempts: 3, baseDelay: 200 },
          cache: 'FAST',
        },
      }),
    );
  });

  afterAll(async () => {
    await app?.close();
  });

  it("executeWithRetry(fn, 'anthropic') uses the named config, not the module defaults", async () => {
    const started = clock.now();
    const res = await drive(request(app.getHttpServer()).get('/summarize'));
    expect(res.status).toBe(200);
    // RETRY_MAX_ATTEMPTS is 2; the named config's 3 attempts apply, with its 200 ms, 400 ms backoff.
    expect(res.body).toEqual({ attempt: 3 });
    expect(calls.service).toBe(3);
    expect(clock.now() - started).toBeGreaterThanOrEqual(600);
  });

  it("@UseResilience({ retry: 'anthropic' }) uses it too, under the same budget and metrics name", async () => {
    const res = await drive(request(app.getHttpServer()).get('/route'));
    expect(res.status).toBe(503);
    expect(calls.route).toBe(3);
    const metrics = (await request(app.getHttpServer()).get('/metrics')).body;
    expect(metrics.anthropic).toMatchObject({
      operations: 2,
      attempts: 6,
      successesAfterRetry: 1,
      exhaustions: 1,
    });
  });

  it('an unknown name rejects the call with a ReliabilityConfigError naming it and the known names', async () => {
    const res = await request(app.getHttpServer()).get('/unknown');
    expect(res.body.configError).toBe(true);
    expect(res.body.message).toContain('executeWithRetry(fn, name)="antropic"');
    expect(res.body.message).toContain('forRoot({ retries }) (anthropic, cache)');
  });

  it('the service resolves names for its callers: a named config or a preset', () => {
    const retry = app.get(RetryService);
    expect(retry.retryNames()).toEqual(['anthropic', 'cache']);
    expect(retry.retryConfigOf('cache')).toMatchObject({ ...RetryService.PresetConfigs.FAST, name: 'cache' });
    expect(retry.retryConfigOf('HTTP')).toBe(RetryService.PresetConfigs.HTTP);
    expect(retry.retryConfigOf('nope')).toBeUndefined();
  });
});

describe('named retries at bootstrap', () => {
  it('@UseResilience with an unknown retry name stops boot, naming the route and the name', async () => {
    @Controller()
    class TypoController {
      @Get()
      @UseResilience({ retry: 'antropic' })
      find() {
        return 'x';
      }
    }
    const error = await bootError(appModule({ retries: { anthropic: 'HTTP' } }, [TypoController]));
    expect(isReliabilityConfigError(error)).toBe(true);
    expect(error.message).toContain('TypoController.find @UseResilience.retry="antropic"');
    expect(error.message).toContain('or a name from forRoot({ retries }) (anthropic)');
  });

  it('a bad entry stops boot, naming the entry and its field', async () => {
    const error = await bootError(
      appModule({
        retries: {
          bad: { maxAttempts: 0 },
          typo: 'HTPP' as never,
          HTTP: { maxAttempts: 2 },
        },
      }),
    );
    expect(isReliabilityConfigError(error)).toBe(true);
    expect(error.message).toContain('retries.bad.maxAttempts=0: must be an integer of at least 1');
    expect(error.message).toContain(
      'retries.typo="HTPP": must be a preset (FAST, STANDARD, DATABASE, HTTP, SLOW)',
    );
    expect(error.message).toContain('retries.HTTP={"maxAttempts":2}: HTTP is a preset\'s name');
  });
});

describe('named retries: the declared budget', () => {
  const down = () => {
    throw Object.assign(new Error('overloaded'), { status: 503 });
  };

  /** 200 calls of the name, optionally after an ad-hoc call of the same name with the default budget. */
  async function storm(adHocFirst: boolean) {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const moduleRef = await Test.createTestingModule({
        imports: [
          ReliabilityTestingModule.forRoot({
            retries: {
              // Every call may retry once: 100 % of the calls, no reserve.
              anthropic: { maxAttempts: 2, baseDelay: 0, budget: { ratio: 1, minPerSecond: 0 } },
            },
          }),
        ],
      }).compile();
      const retry = moduleRef.get(RetryService);
      const adHoc = () =>
        retry
          .executeWithRetry(down, { maxAttempts: 2, baseDelay: 0, name: 'anthropic' })
          .catch(() => undefined);
      if (adHocFirst) await adHoc();
      for (let i = 0; i < 200; i++) await retry.executeWithRetry(down, 'anthropic').catch(() => undefined);
      const metrics = retry.getRetryMetrics('anthropic')!;
      const warnings = warn.mock.calls.map((c) => String(c[0]));
      await moduleRef.close();
      return { metrics, warnings };
    } finally {
      warn.mockRestore();
    }
  }

  it('has its forRoot limits whichever call comes first, and the ad-hoc conflicting call is warned about', async () => {
    for (const adHocFirst of [false, true]) {
      const { metrics, warnings } = await storm(adHocFirst);
      // The default budget (0.2 x calls + 50) would have stopped ~110 of these.
      expect(metrics.budgetRejections).toBe(0);
      expect(metrics.attempts - metrics.operations).toBe(adHocFirst ? 201 : 200);
      expect(warnings).toHaveLength(adHocFirst ? 1 : 0);
      if (adHocFirst) {
        expect(warnings[0]).toContain(
          'keeps { ratio: 1, minPerSecond: 0, windowMs: 10000 } from forRoot({ retries }) ' +
            'and ignores { ratio: 0.2, minPerSecond: 5, windowMs: 10000 }',
        );
      }
    }
  });

  it('two entries with one name and different budgets stop boot, naming the second', async () => {
    const error = await bootError(
      appModule({
        retries: {
          a: { name: 'llm', budget: { ratio: 1 } },
          b: { name: 'llm', budget: { ratio: 0.5 } },
        },
      }),
    );
    expect(isReliabilityConfigError(error)).toBe(true);
    expect(error.message).toContain('retries.b.budget');
    expect(error.message).toContain('retries.a');
  });
});
