import { Inject, Injectable, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { ReliabilityConfig } from '../../src/config';
import { isReliabilityConfigError } from '../../src/core/common/errors';
import { RELIABILITY_CONFIG } from '../../src/reliability.tokens';
import { ReliabilityModule } from '../../src/reliability.module';

@Injectable()
class Consumer {
  constructor(@Inject(RELIABILITY_CONFIG) readonly config: ReliabilityConfig) {}
}

// A feature module that does not import ReliabilityModule: the module is global.
@Module({ providers: [Consumer], exports: [Consumer] })
class FeatureModule {}

describe('ReliabilityModule', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('is global: a provider in another module gets the configuration injected', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ReliabilityModule.forRoot({ env: { RETRY_MAX_ATTEMPTS: '4' } }), FeatureModule],
    }).compile();
    const consumer = moduleRef.get(Consumer);
    expect(consumer.config.retry.maxAttempts).toBe(4);
    expect(consumer.config.circuitBreaker.failureThreshold).toBe(0.5);
    await moduleRef.close();
  });

  it('reads process.env when the app has no ConfigModule', async () => {
    process.env.CIRCUIT_BREAKER_RESET_TIMEOUT = '1234';
    const moduleRef = await Test.createTestingModule({ imports: [ReliabilityModule.forRoot()] }).compile();
    expect(moduleRef.get<ReliabilityConfig>(RELIABILITY_CONFIG).circuitBreaker.resetTimeout).toBe(1234);
    await moduleRef.close();
  });

  it('reads through ConfigService when the app imports ConfigModule', async () => {
    process.env.RETRY_BASE_DELAY = '999';
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({
          ignoreEnvFile: true,
          ignoreEnvVars: true,
          load: [() => ({ RETRY_BASE_DELAY: '250' })],
        }),
        ReliabilityModule.forRoot(),
      ],
    }).compile();
    expect(moduleRef.get<ReliabilityConfig>(RELIABILITY_CONFIG).retry.baseDelay).toBe(250);
    await moduleRef.close();
  });

  it('supports forRootAsync with ConfigService', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ BREAKER_THRESHOLD: 0.75 })] }),
        ReliabilityModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({
            circuitBreaker: { failureThreshold: config.get<number>('BREAKER_THRESHOLD') },
          }),
        }),
        FeatureModule,
      ],
    }).compile();
    expect(moduleRef.get(Consumer).config.circuitBreaker.failureThreshold).toBe(0.75);
    await moduleRef.close();
  });

  it('stops boot with one error listing every bad value', async () => {
    const boot = Test.createTestingModule({
      imports: [
        ReliabilityModule.forRoot({
          env: { CIRCUIT_BREAKER_FAILURE_THRESHOLD: '50', RETRY_MAX_ATTEMPTS: 'three' },
        }),
      ],
    }).compile();
    const error = await boot.catch((e: unknown) => e);
    expect(isReliabilityConfigError(error)).toBe(true);
    expect((error as Error).message).toContain('CIRCUIT_BREAKER_FAILURE_THRESHOLD="50"');
    expect((error as Error).message).toContain('RETRY_MAX_ATTEMPTS="three"');
  });
});
