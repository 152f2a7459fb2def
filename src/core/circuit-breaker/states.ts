import type { CircuitState } from '../common/errors.js';

/**
 * The allowed transitions, listed once. The behaviour of each state is a branch of
 * `CircuitBreaker.execute()` rather than a state object: the closed path is the hot path, and a
 * property check there is cheaper than a virtual call.
 *
 * - CLOSED → OPEN: the window trips (`failure-rate`, `slow-call-rate`) or `open()`.
 * - OPEN → HALF_OPEN: the first call (or read) after `resetTimeout`, checked lazily: no timer.
 * - HALF_OPEN → CLOSED: `halfOpenMaxCalls` probes succeeded; the window is cleared.
 * - HALF_OPEN → OPEN: a probe failed, timed out or was slow, or has not answered within its own
 *   timeout (`resetTimeout` with `timeout: 0`); open for another `resetTimeout`.
 * - OPEN / HALF_OPEN → CLOSED: `close()`, `reset()`, `disable()`.
 * - HALF_OPEN → OPEN: `open()`.
 */
export const CIRCUIT_TRANSITIONS: Readonly<Record<CircuitState, readonly CircuitState[]>> = {
  CLOSED: ['OPEN'],
  OPEN: ['HALF_OPEN', 'CLOSED'],
  HALF_OPEN: ['OPEN', 'CLOSED'],
};

export function canTransition(from: CircuitState, to: CircuitState): boolean {
  return CIRCUIT_TRANSITIONS[from].includes(to);
}
