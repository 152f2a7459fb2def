/**
 * Typed errors of the library. Each carries a marker under a registered symbol, so the
 * `is…()` guards still work when two copies of the package are loaded (ESM and CommonJS,
 * or two versions in one tree), where `instanceof` would not.
 */

const MARKER = Symbol.for('nestjs-reliability.error');

/** True when `error` was marked with `kind` by {@link markErrorKind}, in any copy of the package. */
export function hasErrorKind(error: unknown, kind: string): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARKER] === kind;
}

/** Marks an error instance so that its `is…()` guard works across package copies. */
export function markErrorKind(target: object, kind: string): void {
  Object.defineProperty(target, MARKER, { value: kind, enumerable: false });
}

const hasKind = hasErrorKind;
const mark = markErrorKind;

/** Circuit states, as exposed in metrics and errors. @publicApi */
export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/**
 * Thrown, without calling the function, when a circuit is open or its half-open probes are all taken.
 * Built without a stack trace: rejections are the hot path of an open circuit.
 * @publicApi
 */
export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';

  constructor(
    /** The circuit's name. */
    readonly circuit: string,
    /** The state that rejected the call: `OPEN`, or `HALF_OPEN` when every probe slot is taken. */
    readonly state: CircuitState,
    /** Milliseconds until the circuit lets a probe through (0 when half-open). */
    readonly retryAfterMs: number,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`Circuit "${circuit}" is ${state}; retry in ${Math.ceil(retryAfterMs)} ms`);
    Error.stackTraceLimit = limit;
  }
}
// Marked once on the prototype, not per instance: rejections are the hot path of an open circuit.
mark(CircuitOpenError.prototype, 'CircuitOpenError');

/**
 * Thrown when a call takes longer than its timeout. The call's `AbortSignal` is aborted with it.
 * @publicApi
 */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';

  constructor(
    /** The timeout that was exceeded, in milliseconds. */
    readonly timeoutMs: number,
    /** What timed out: a circuit, a route or an operation name. */
    readonly operation?: string,
  ) {
    super(`${operation ? `"${operation}" ` : 'Operation '}timed out after ${timeoutMs} ms`);
    mark(this, 'TimeoutError');
  }
}

/** One invalid configuration value. @publicApi */
export interface ConfigIssue {
  /** The environment variable or option path, e.g. `CIRCUIT_BREAKER_FAILURE_THRESHOLD`. */
  field: string;
  /** The value given, as received. */
  value: unknown;
  /** What is allowed, and a hint where one helps. */
  expected: string;
}

/**
 * Invalid configuration, found at startup. Lists every bad field at once.
 * @publicApi
 */
export class ReliabilityConfigError extends Error {
  override readonly name = 'ReliabilityConfigError';

  constructor(readonly issues: readonly ConfigIssue[]) {
    super(
      `Invalid nestjs-reliability configuration (${issues.length} ${issues.length === 1 ? 'problem' : 'problems'}):\n` +
        issues.map((i) => `  - ${i.field}=${formatValue(i.value)}: ${i.expected}`).join('\n'),
    );
    mark(this, 'ReliabilityConfigError');
  }
}

/** Renders a config value the way the user typed it: strings quoted, the rest as JSON. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return '[function]';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** True for a {@link CircuitOpenError}, from any copy of the package. @publicApi */
export function isCircuitOpenError(error: unknown): error is CircuitOpenError {
  return hasKind(error, 'CircuitOpenError');
}

/** True for a {@link TimeoutError}, from any copy of the package. @publicApi */
export function isTimeoutError(error: unknown): error is TimeoutError {
  return hasKind(error, 'TimeoutError');
}

/** True for a {@link ReliabilityConfigError}, from any copy of the package. @publicApi */
export function isReliabilityConfigError(error: unknown): error is ReliabilityConfigError {
  return hasKind(error, 'ReliabilityConfigError');
}
