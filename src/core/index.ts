export { FakeClock, systemClock, flushMicrotasks } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export * from './errors.js';
export { statusOf, codesOf, headerOf, causeChain, isAbortLike } from './error-shapes.js';
export type { LatencySummary } from './latency-histogram.js';
