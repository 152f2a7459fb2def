import { CircuitEvents } from './events.js';
import { CounterSlab } from './slab.js';
import { Clock, systemClock } from '../common/clock.js';
import { DeadlineTimer, deadlineTimerFor } from '../common/deadline.js';

/** Where a circuit gets its time and reports its events. @publicApi */
export interface CircuitBreakerContext {
  /** @default systemClock */
  clock?: Clock;
  /** Shared by a registry's circuits; a standalone circuit gets its own. */
  events?: CircuitEvents;
  /** Where the circuit's counters live; shared by a registry's circuits. */
  slab?: CounterSlab;
}

/** What every circuit of one registry shares: one object, so that each circuit holds one reference. */
export class CircuitShared {
  readonly clock: Clock;
  readonly events: CircuitEvents;
  readonly slab: CounterSlab;
  readonly deadlines: DeadlineTimer;

  constructor(context: CircuitBreakerContext = {}) {
    this.clock = context.clock ?? systemClock;
    this.events = context.events ?? new CircuitEvents();
    this.slab = context.slab ?? new CounterSlab();
    this.deadlines = deadlineTimerFor(this.clock, true);
  }
}
