import { TimeoutError } from '../common/errors.js';
import { Deadline } from '../common/deadline.js';

type Fallback<T> = (error: unknown) => T | PromiseLike<T>;

/** What a timed call reports to: its circuit (declared here, so that this file needs no import of it). */
export interface TimedCallOwner {
  readonly name: string;
  readonly settings: { readonly timeout: number };
  cancelDeadline(call: Deadline): void;
  onSuccess<T>(value: T, t0: number, gen: number, probe: boolean): T;
  onUntimedSuccess<T>(value: T, gen: number): T;
  onFailure<T>(
    error: unknown,
    t0: number,
    gen: number,
    probe: boolean,
    fallback: Fallback<T> | undefined,
  ): T | PromiseLike<T>;
  onTimeout<T>(
    error: TimeoutError,
    now: number,
    t0: number,
    gen: number,
    probe: boolean,
    fallback: Fallback<T> | undefined,
  ): T | PromiseLike<T>;
}

/** One call under a timeout: whichever of result, error and deadline comes first settles it. */
export class TimedCall<T> extends Deadline {
  private settled = false;

  constructor(
    private readonly breaker: TimedCallOwner,
    private readonly resolve: (value: T | PromiseLike<T>) => void,
    private readonly reject: (reason: unknown) => void,
    private readonly fallback: Fallback<T> | undefined,
    private readonly t0: number,
    private readonly gen: number,
    private readonly probe: boolean,
    /** Read the clock at the end (latency, exact window bucket), or count the success untimed. */
    private readonly timed: boolean,
    private readonly controller: AbortController | undefined,
  ) {
    super();
  }

  ok(value: T): void {
    if (this.settled) return; // late result after the timeout: ignored
    this.settled = true;
    this.breaker.cancelDeadline(this);
    this.resolve(
      this.timed
        ? this.breaker.onSuccess(value, this.t0, this.gen, this.probe)
        : this.breaker.onUntimedSuccess(value, this.gen),
    );
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.breaker.cancelDeadline(this);
    try {
      const t0 = this.timed ? this.t0 : -1;
      this.resolve(this.breaker.onFailure(error, t0, this.gen, this.probe, this.fallback));
    } catch (thrown) {
      this.reject(thrown);
    }
  }

  expire(now: number): void {
    if (this.settled) return;
    this.settled = true;
    const error = new TimeoutError(this.breaker.settings.timeout, this.breaker.name);
    // Abort before settling, so the work stops even if a fallback below takes its time.
    this.controller?.abort(error);
    try {
      this.resolve(this.breaker.onTimeout(error, now, this.t0, this.gen, this.probe, this.fallback));
    } catch (thrown) {
      this.reject(thrown);
    }
  }
}
