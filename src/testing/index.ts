/**
 * nestjs-reliability/testing: the module and clock for the tests of an app that uses the library.
 */
export { FakeClock, flushMicrotasks } from '../core/common/clock.js';
export type { Clock, TimerHandle } from '../core/common/clock.js';
export { RELIABILITY_CLOCK } from '../reliability.tokens.js';
export { ReliabilityTestingModule } from './reliability-testing.module.js';
export type { ReliabilityTestingModuleOptions } from './reliability-testing.module.js';
