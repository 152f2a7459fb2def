/** Every DI token of the module. A leaf: it imports nothing, so any file may import it without a cycle. */

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

/** Injection token of the options given to `forRoot()` / `forRootAsync()`, before validation. @publicApi */
export const RELIABILITY_MODULE_OPTIONS = Symbol.for('nestjs-reliability.module-options');

/** Injection token of the validated health options given to `forRoot` / `forRootAsync` (or `null`). */
export const HEALTH_OPTIONS = Symbol.for('nestjs-reliability.health-options');

/** The copy of the package whose `ReliabilityModule` is in the app. Keep the shape: other versions read it. */
export const RELIABILITY_COPY = Symbol.for('nestjs-reliability.copy');
