export { FakeClock, systemClock, flushMicrotasks } from './common/clock.js';
export type { Clock, TimerHandle } from './common/clock.js';
export * from './common/errors.js';
export { statusOf, codesOf, headerOf, causeChain, isAbortLike } from './common/error-shapes.js';
export type { LatencySummary } from './common/latency-histogram.js';
