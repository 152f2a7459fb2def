import type { CircuitTransitionReason } from './events.js';
import type { RollingWindow } from '../common/rolling-window.js';

/** The thresholds that decide when a closed circuit trips. */
export interface TripThresholds {
  failureThreshold: number;
  volumeThreshold: number;
  /** 0 turns slow-call tripping off. */
  slowCallRate: number;
}

/**
 * When to trip, kept apart from the state machine: with at least `volumeThreshold` calls in the
 * window, a failure rate at or above `failureThreshold` opens the circuit, and so does a slow-call
 * rate at or above `slowCallRate`.
 *
 * The comparison is a division, `failures / calls >= failureThreshold`, never a multiplication:
 * `5 / 10 >= 0.5` holds exactly (exactly 50 % opens at 0.5), whereas `3 >= 0.1 * 30` would not
 * (`0.1 * 30` is 3.0000000000000004).
 */
export function tripReason(
  t: TripThresholds,
  w: Pick<RollingWindow, 'calls' | 'failures' | 'slowCalls'>,
): CircuitTransitionReason | undefined {
  if (w.calls < t.volumeThreshold) return undefined;
  if (w.failures > 0 && w.failures / w.calls >= t.failureThreshold) return 'failure-rate';
  if (t.slowCallRate > 0 && w.slowCalls > 0 && w.slowCalls / w.calls >= t.slowCallRate) {
    return 'slow-call-rate';
  }
  return undefined;
}
