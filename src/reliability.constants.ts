/** Injection token of the resolved, validated {@link ReliabilityConfig}. @publicApi */
export const RELIABILITY_CONFIG = Symbol.for('nestjs-reliability.config');

/**
 * Optional injection token of the {@link Clock} used by the services (default: `systemClock`).
 * In tests, use `ReliabilityTestingModule` from `nestjs-reliability/testing`, which provides a `FakeClock`
 * under it; or provide one in a `@Global()` module (`overrideProvider` cannot: the module provides no default).
 * @publicApi
 */
export const RELIABILITY_CLOCK = Symbol.for('nestjs-reliability.clock');
