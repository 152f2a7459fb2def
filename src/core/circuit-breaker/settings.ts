import { defaultIsFailure } from '../classification/failure-classification.js';

/**
 * The complete, already validated settings of one circuit, as the core uses them.
 * (The Nest layer validates user options into these; see `CircuitOptions`.)
 * @publicApi
 */
export interface CircuitBreakerSettings {
  /** Failure rate in (0, 1] that opens the circuit; reaching it exactly opens. @default 0.5 */
  readonly failureThreshold: number;
  /** Per-call timeout in ms; 0 turns it off. @default 60000 */
  readonly timeout: number;
  /** How long an open circuit rejects before a probe, in ms. @default 30000 */
  readonly resetTimeout: number;
  /** Calls needed in the window before a rate can open the circuit. @default 10 */
  readonly volumeThreshold: number;
  /** Rolling window length in ms. @default 60000 */
  readonly rollingWindow: number;
  /** Buckets of the rolling window. @default 10 */
  readonly rollingBuckets: number;
  /** Probes at once while half-open, and successes needed to close. @default 1 */
  readonly halfOpenMaxCalls: number;
  /** A call at least this slow (ms) counts as slow; 0 turns slow-call detection off. @default 0 */
  readonly slowCallThreshold: number;
  /** Slow-call rate in (0, 1] that opens the circuit; 0 = off. @default 0 */
  readonly slowCallRate: number;
  /**
   * A timeout that the caller enforces around each call, in ms (a route's attempt timeout); 0 =
   * none. The circuit does not time calls by it: it only tells a stuck half-open probe. @default 0
   */
  readonly externalTimeout: number;
  /** Whether an error counts against the circuit. @default defaultIsFailure */
  readonly isFailure: (error: unknown) => boolean;
}

/** The documented defaults (the same as the `CIRCUIT_BREAKER_*` defaults). @publicApi */
export const DEFAULT_CIRCUIT_SETTINGS: CircuitBreakerSettings = Object.freeze({
  failureThreshold: 0.5,
  timeout: 60_000,
  resetTimeout: 30_000,
  volumeThreshold: 10,
  rollingWindow: 60_000,
  rollingBuckets: 10,
  halfOpenMaxCalls: 1,
  slowCallThreshold: 0,
  slowCallRate: 0,
  externalTimeout: 0,
  isFailure: defaultIsFailure,
});
