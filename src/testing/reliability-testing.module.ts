import { DynamicModule, Module, Provider } from '@nestjs/common';
import { FakeClock } from '../core/common/clock.js';
import { ReliabilityModuleOptions } from '../reliability-options.interface.js';
import { RELIABILITY_CLOCK } from '../reliability.tokens.js';
import { ReliabilityModule } from '../reliability.module.js';

/**
 * Options of `ReliabilityTestingModule.forRoot()`: those of `ReliabilityModule.forRoot()`, and the
 * clock to drive.
 * @publicApi
 */
export interface ReliabilityTestingModuleOptions extends ReliabilityModuleOptions {
  /** The fake clock of every service. @default a new `FakeClock` */
  clock?: FakeClock;
}

/**
 * `ReliabilityModule` on a {@link FakeClock}, for tests: backoffs (the presets' included), call and
 * route timeouts, breaker reset timeouts, the database's connect retries and the shutdown's grace and
 * drain timeouts all wait for fake time, which moves only when the test advances it. Jitter is deterministic: `random()` returns 0.5 unless the
 * test queues other values. Inject `FakeClock` (or `RELIABILITY_CLOCK`) to drive it.
 *
 * ```ts
 * const moduleRef = await Test.createTestingModule({
 *   imports: [ReliabilityTestingModule.forRoot()],
 *   controllers: [QuotesController],
 * }).compile();
 * const clock = moduleRef.get(FakeClock);
 * await clock.advance(30_000); // an open circuit's resetTimeout passes at once
 * ```
 * @publicApi
 */
@Module({})
export class ReliabilityTestingModule {
  /**
   * Registers `ReliabilityModule.forRoot(options)` with the fake clock. Unlike `forRoot`, it reads
   * no environment variables unless `env` is given, so a test does not depend on the machine's.
   */
  static forRoot(options: ReliabilityTestingModuleOptions = {}): DynamicModule {
    const { clock = new FakeClock(), ...moduleOptions } = options;
    const reliability = ReliabilityModule.forRoot({ env: {}, ...moduleOptions });
    const clockProviders: Provider[] = [
      { provide: RELIABILITY_CLOCK, useValue: clock },
      { provide: FakeClock, useValue: clock },
    ];
    return {
      ...reliability,
      providers: [...(reliability.providers ?? []), ...clockProviders],
      exports: [...(reliability.exports ?? []), RELIABILITY_CLOCK, FakeClock],
    };
  }
}
