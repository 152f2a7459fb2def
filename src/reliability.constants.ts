/** Injection token of the resolved, validated {@link ReliabilityConfig}. @publicApi */
export const RELIABILITY_CONFIG = Symbol.for('nestjs-reliability.config');

/**
 * Injection token of the {@link Clock} used by the services (`systemClock` unless overridden).
 * In tests, use `ReliabilityTestingModule` from `nestjs-reliability/testing`, which provides a `FakeClock`
 * under it, or, for a test that imports the app's own `AppModule`,
 * `overrideProvider(RELIABILITY_CLOCK).useValue(new FakeClock())`.
 * @publicApi
 */
export const RELIABILITY_CLOCK = Symbol.for('nestjs-reliability.clock');
