import { DEFAULT_CIRCUIT_SETTINGS } from '../core/circuit-breaker/settings.js';
import {
  durationMs,
  field,
  intAtLeast,
  isInvalid,
  Parser,
  positiveDurationMs,
  ratio,
} from './config-fields.js';

/** The most buckets a rolling window may have: memory per circuit is 20 bytes per bucket. */
export const MAX_ROLLING_BUCKETS = 1_000;

/** An integer from 1 to {@link MAX_ROLLING_BUCKETS}. */
export const rollingBucketsParser: Parser<number> = (raw) => {
  const n = intAtLeast(1)(raw);
  if (isInvalid(n) || n <= MAX_ROLLING_BUCKETS) return n;
  return { invalid: `must be an integer from 1 to ${MAX_ROLLING_BUCKETS}` };
};

/** Module-wide circuit breaker defaults, after parsing. Each circuit may override them. @publicApi */
export interface CircuitBreakerDefaults {
  /** Failure rate in (0, 1] that opens the circuit; reached exactly, it opens. @default 0.5 */
  failureThreshold: number;
  /** Per-call timeout in ms; 0 turns it off. @default 60000 */
  timeout: number;
  /** Time an open circuit waits before letting a probe through, in ms. @default 30000 */
  resetTimeout: number;
  /** Calls needed in the window before the rate can open the circuit. @default 10 */
  volumeThreshold: number;
  /** Length of the rolling window, in ms. @default 60000 */
  rollingWindow: number;
  /** Buckets the window is split into. @default 10 */
  rollingBuckets: number;
  /** Probes allowed at once while half-open. @default 1 */
  halfOpenMaxCalls: number;
  /** A circuit unused for this long is evicted (never an open, half-open or disabled one). @default 3600000 */
  idleEvictionMs: number;
}

export const CIRCUIT_BREAKER_FIELDS = [
  field({
    env: 'CIRCUIT_BREAKER_FAILURE_THRESHOLD',
    key: 'failureThreshold',
    default: DEFAULT_CIRCUIT_SETTINGS.failureThreshold,
    parse: ratio,
    description: 'Failure rate in (0, 1] that opens a circuit (0.5 = 50 %; exactly 50 % opens)',
  }),
  field({
    env: 'CIRCUIT_BREAKER_TIMEOUT',
    key: 'timeout',
    default: DEFAULT_CIRCUIT_SETTINGS.timeout,
    parse: durationMs,
    description: 'Per-call timeout in ms; the call is aborted and counted as a failure (0 = none)',
  }),
  field({
    env: 'CIRCUIT_BREAKER_RESET_TIMEOUT',
    key: 'resetTimeout',
    default: DEFAULT_CIRCUIT_SETTINGS.resetTimeout,
    parse: durationMs,
    description: 'How long an open circuit rejects before a half-open probe, in ms',
  }),
  field({
    env: 'CIRCUIT_BREAKER_VOLUME_THRESHOLD',
    key: 'volumeThreshold',
    default: DEFAULT_CIRCUIT_SETTINGS.volumeThreshold,
    parse: intAtLeast(1),
    description: 'Minimum calls in the rolling window before the failure rate can open a circuit',
  }),
  field({
    env: 'CIRCUIT_BREAKER_ROLLING_WINDOW',
    key: 'rollingWindow',
    default: DEFAULT_CIRCUIT_SETTINGS.rollingWindow,
    parse: positiveDurationMs,
    description: 'Length of the rolling window of call statistics, in ms',
  }),
  field({
    env: 'CIRCUIT_BREAKER_ROLLING_BUCKETS',
    key: 'rollingBuckets',
    default: DEFAULT_CIRCUIT_SETTINGS.rollingBuckets,
    parse: rollingBucketsParser,
    description: 'Number of buckets in the rolling window, 1 to 1000 (memory per circuit is O(buckets))',
  }),
  field({
    env: 'CIRCUIT_BREAKER_HALF_OPEN_MAX_CALLS',
    key: 'halfOpenMaxCalls',
    default: DEFAULT_CIRCUIT_SETTINGS.halfOpenMaxCalls,
    parse: intAtLeast(1),
    description: 'Probes allowed at once while half-open; the rest are rejected',
  }),
  field({
    env: 'CIRCUIT_BREAKER_IDLE_EVICTION',
    key: 'idleEvictionMs',
    default: 3_600_000,
    parse: positiveDurationMs,
    description:
      'Drop circuits unused for this long, in ms, in any state (not those held by open()/disable() or with a call in flight)',
  }),
] as const;
