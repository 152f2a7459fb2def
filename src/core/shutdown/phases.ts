/**
 * The phases of a graceful shutdown, in the only order they can happen. A phase may be skipped
 * (a programmatic `app.close()` skips GRACE), never re-entered.
 */
import { Clock } from '../common/clock.js';

/**
 * `RUNNING` → `GRACE` (readiness 503, still serving) → `DRAINING` (no new connections, in-flight
 * requests finish) → `CLEANUP` (cleanup tasks) → `STOPPED`.
 * @publicApi
 */
export type ShutdownPhase = 'RUNNING' | 'GRACE' | 'DRAINING' | 'CLEANUP' | 'STOPPED';

/** Every phase, in order. @publicApi */
export const SHUTDOWN_PHASES: readonly ShutdownPhase[] = Object.freeze([
  'RUNNING',
  'GRACE',
  'DRAINING',
  'CLEANUP',
  'STOPPED',
]);

/** True when `to` comes after `from`: phases only move forward. */
export function canEnterPhase(from: ShutdownPhase, to: ShutdownPhase): boolean {
  return SHUTDOWN_PHASES.indexOf(to) > SHUTDOWN_PHASES.indexOf(from);
}

/** The current phase and when each phase started (epoch ms, `null` when not reached or skipped). */
export class PhaseTimeline {
  private current: ShutdownPhase = 'RUNNING';
  private readonly started: Record<ShutdownPhase, number | null>;

  constructor(private readonly clock: Clock) {
    this.started = { RUNNING: clock.now(), GRACE: null, DRAINING: null, CLEANUP: null, STOPPED: null };
  }

  get phase(): ShutdownPhase {
    return this.current;
  }

  /** Moves to `to`; returns false (and changes nothing) when `to` is not ahead of the current phase. */
  enter(to: ShutdownPhase): boolean {
    if (!canEnterPhase(this.current, to)) return false;
    this.current = to;
    this.started[to] = this.clock.now();
    return true;
  }

  startedAt(phase: ShutdownPhase): number | null {
    return this.started[phase];
  }

  snapshot(): Record<ShutdownPhase, number | null> {
    return { ...this.started };
  }
}
