/**
 * Options of one named circuit, given to the `execute()` that creates it or in
 * `forRoot({ circuits: { [name]: ... } })` (which wins, field by field). Unset fields take the
 * module defaults (`forRoot({ circuitBreaker })`, then `CIRCUIT_BREAKER_*`, then the documented
 * defaults). Every value is validated; a bad one is a `ReliabilityConfigError` naming the field
 * and the value (at startup for `forRoot`).
 * @publicApi
 */
export interface CircuitOptions {
  /**
   * Failure rate in (0, 1] that opens the circuit. Reaching it exactly opens: at 0.5, 5 failures
   * in 10 calls open the circuit.
   * @default 0.5
   */
  failureThreshold?: number;
  /** Per-call timeout in ms; the call's signal is aborted and it counts as a failure. 0 turns it off. @default 60000 */
  timeout?: number;
  /** Time an open circuit rejects before it lets a probe through, in ms. @default 30000 */
  resetTimeout?: number;
  /** Calls needed in the window before a rate can open the circuit. @default 10 */
  volumeThreshold?: number;
  /** Rolling window length in ms. @default 60000 */
  rollingWindow?: number;
  /** Buckets in the rolling window (1 to 1000); the window moves one bucket at a time. @default 10 */
  rollingBuckets?: number;
  /**
   * Probes allowed at once while half-open, and successful probes needed to close; the other calls
   * are rejected meanwhile. One failed probe re-opens the circuit.
   * @default 1
   */
  halfOpenMaxCalls?: number;
  /** A call that takes at least this long (ms) is slow. Set together with `slowCallRate`. Off unless set. */
  slowCallThreshold?: number;
  /**
   * Share of slow calls in (0, 1] that opens the circuit (with `volumeThreshold` calls in the
   * window). A slow half-open probe re-opens it. Set together with `slowCallThreshold`. Off unless set.
   */
  slowCallRate?: number;
  /**
   * A timeout that the caller enforces around each call, in ms (`@UseResilience` routes set their
   * attempt timeout here); 0 = none. The circuit does not time calls by it: a half-open probe
   * counts as stuck only once this has passed (when `timeout` is 0; with neither, after
   * `resetTimeout`).
   * @default 0
   */
  externalTimeout?: number;
  /**
   * Decides whether an error counts against the circuit. An error that does not count passes
   * through unchanged and is not served a fallback.
   * @default defaultIsFailure (timeouts, network errors and 5xx count; 4xx but 408/425/429, `retryable: false`, `isClientError` and aborts do not)
   */
  isFailure?: (error: unknown) => boolean;
}

/**
 * The options of one `CircuitBreakerService.execute()`: the circuit's options (read when this
 * call creates the circuit) and the per-call `signal`, read on every call.
 * @publicApi
 */
export interface CircuitExecuteOptions extends CircuitOptions {
  /**
   * Whether `fn` gets an `AbortSignal` that aborts when the call times out. `true` always passes
   * one, `false` never does. Unset, `fn`'s declared parameter count decides: `(signal) => …` gets
   * one, `() => …` does not. `(...args) => …`, a first parameter with a default value and
   * `jest.fn()` declare none, so they get none unless this is `true`.
   * @default fn.length > 0
   */
  signal?: boolean;
}
