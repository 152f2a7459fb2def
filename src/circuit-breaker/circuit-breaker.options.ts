/**
 * Options of one named circuit. Unset fields take the module defaults
 * (`forRoot({ circuitBreaker })`, then `CIRCUIT_BREAKER_*`, then the documented defaults).
 * @publicApi
 */
export interface CircuitOptions {
  /** Failure rate in (0, 1] that opens the circuit; reaching it exactly opens. @default 0.5 */
  failureThreshold?: number;
  /** Per-call timeout in ms; 0 turns it off. @default 60000 */
  timeout?: number;
  /** Time an open circuit rejects before a half-open probe, in ms. @default 30000 */
  resetTimeout?: number;
  /** Calls needed in the window before the failure rate counts. @default 10 */
  volumeThreshold?: number;
  /** Rolling window length in ms. @default 60000 */
  rollingWindow?: number;
  /** Buckets in the rolling window. @default 10 */
  rollingBuckets?: number;
  /** Probes allowed at once while half-open. @default 1 */
  halfOpenMaxCalls?: number;
  /** A call slower than this (ms) counts as slow. Off unless set. */
  slowCallThreshold?: number;
  /** Share of slow calls in (0, 1] that opens the circuit. Off unless set with `slowCallThreshold`. */
  slowCallRate?: number;
  /** Decides whether an error counts against the circuit. @default the library's classification */
  isFailure?: (error: unknown) => boolean;
}
