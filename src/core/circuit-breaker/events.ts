import type { CircuitState } from '../common/errors.js';

/** Why a circuit changed state. @publicApi */
export type CircuitTransitionReason =
  /** The failure rate reached `failureThreshold` with at least `volumeThreshold` calls. */
  | 'failure-rate'
  /** The slow-call rate reached `slowCallRate` with at least `volumeThreshold` calls. */
  | 'slow-call-rate'
  /** `resetTimeout` passed; the next call is a probe. */
  | 'reset-timeout'
  /** A half-open probe failed, timed out or was slow. */
  | 'probe-failed'
  /** A half-open probe did not answer within its own timeout (`resetTimeout` with `timeout: 0`). */
  | 'probe-stuck'
  /** `halfOpenMaxCalls` probes succeeded. */
  | 'probe-succeeded'
  | 'manual-open'
  | 'manual-close'
  | 'reset'
  | 'disabled';

/** A state transition of one circuit. @publicApi */
export interface CircuitStateChange {
  name: string;
  from: CircuitState;
  to: CircuitState;
  /** Clock time of the transition, in epoch ms. */
  at: number;
  reason?: CircuitTransitionReason;
}

/** How one `execute()` call ended. @publicApi */
export type CircuitCallOutcomeKind = 'success' | 'failure' | 'timeout' | 'rejected' | 'ignored';

/** One call's outcome. `ignored`: the call failed with an error that does not count. @publicApi */
export interface CircuitCallOutcome {
  name: string;
  outcome: CircuitCallOutcomeKind;
  /** How long the call ran (0 for a rejection). */
  durationMs: number;
  /** The error, for every outcome but `success`. */
  error?: unknown;
}

export type Listener<E> = (event: E) => void;

/**
 * Listener lists shared by every circuit of a registry. Arrays are replaced, never mutated, so a
 * listener that disposes itself (or adds another) during an emit does not disturb the loop.
 * A listener that throws is reported to `onListenerError` and never breaks the call.
 */
export class CircuitEvents {
  stateListeners: readonly Listener<CircuitStateChange>[] = [];
  outcomeListeners: readonly Listener<CircuitCallOutcome>[] = [];

  constructor(public onListenerError: (error: unknown) => void = () => undefined) {}

  /**
   * Each registration gets its own entry, so that a disposer removes only its own registration,
   * even when the same function is registered twice. Calling a disposer again does nothing.
   */
  onStateChange(listener: Listener<CircuitStateChange>): () => void {
    const entry: Listener<CircuitStateChange> = (event) => listener(event);
    this.stateListeners = [...this.stateListeners, entry];
    return () => {
      this.stateListeners = this.stateListeners.filter((l) => l !== entry);
    };
  }

  onCallOutcome(listener: Listener<CircuitCallOutcome>): () => void {
    const entry: Listener<CircuitCallOutcome> = (event) => listener(event);
    this.outcomeListeners = [...this.outcomeListeners, entry];
    return () => {
      this.outcomeListeners = this.outcomeListeners.filter((l) => l !== entry);
    };
  }

  emitState(event: CircuitStateChange): void {
    for (const listener of this.stateListeners) this.call(listener, event);
  }

  emitOutcome(event: CircuitCallOutcome): void {
    for (const listener of this.outcomeListeners) this.call(listener, event);
  }

  clear(): void {
    this.stateListeners = [];
    this.outcomeListeners = [];
  }

  private call<E>(listener: Listener<E>, event: E): void {
    try {
      listener(event);
    } catch (error) {
      try {
        this.onListenerError(error);
      } catch {
        // A failing error handler has nowhere left to report to.
      }
    }
  }
}
