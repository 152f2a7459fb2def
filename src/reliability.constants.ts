/** Injection token of the resolved, validated {@link ReliabilityConfig}. @publicApi */
export const RELIABILITY_CONFIG = Symbol.for('nestjs-reliability.config');

/**
 * Optional injection token of the {@link Clock} used by the services (default: `systemClock`).
 * Provide a `FakeClock` under it (in a `@Global()` module, or with `overrideProvider`) to drive time in tests.
 * @publicApi
 */
export const RELIABILITY_CLOCK = Symbol.for('nestjs-reliability.clock');
