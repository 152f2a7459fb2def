import { Clock } from '../core/common/clock.js';
import { isTimeoutError } from '../core/common/errors.js';
import { runWithTimeout } from '../core/common/deadline.js';

/**
 * A custom readiness check. It fails when it throws, rejects, returns `false` or passes its
 * timeout; any other result is a pass. A check that takes an argument gets an `AbortSignal`,
 * aborted when its timeout passes, so that the probe itself stops.
 * @publicApi
 */
export type HealthCheckFunction = (signal: AbortSignal) => unknown;

/**
 * A named readiness check: a function, or `{ check, timeoutMs }`.
 * @publicApi
 */
export type HealthCheckOption =
  | HealthCheckFunction
  | {
      check: HealthCheckFunction;
      /** Time limit of one run, in ms. @default 1000 */
      timeoutMs?: number;
    };

/** A check after validation. */
export interface ResolvedHealthCheck {
  name: string;
  check: HealthCheckFunction;
  timeoutMs: number;
}

/** Time limit of a custom check that names none, in ms. */
export const DEFAULT_HEALTH_CHECK_TIMEOUT_MS = 1000;

/** The result of one check. @publicApi */
export interface HealthCheckDetail {
  status: 'up' | 'down';
  [detail: string]: unknown;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The run of one check: shared by the probes while it runs, kept past its timeout until it settles. */
interface CheckRun {
  started: number;
  result: Promise<HealthCheckDetail>;
  /** Its timeout passed while the check was still running. */
  timedOut: boolean;
}

function invoke(check: HealthCheckFunction, signal: AbortSignal): Promise<unknown> {
  try {
    return Promise.resolve(check(signal));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A check still running this many timeouts after its start gets one fresh call beside it. */
export const HUNG_RETRY_FACTOR = 5;

/**
 * Runs the custom checks. Probes that arrive while a check is still running share its run, so
 * a readiness endpoint polled by many probes calls each dependency at most once at a time. That
 * holds past the timeout too: a check that ignores its signal is not called again until its
 * hung run settles, and the probes meanwhile answer down without calling it.
 */
export class HealthCheckRunner {
  private readonly runs = new Map<string, CheckRun>();
  /** Calls of each check that have not settled yet (a hung one included). */
  private readonly calls = new Map<string, number>();

  constructor(
    private readonly checks: readonly ResolvedHealthCheck[],
    private readonly clock: Clock,
  ) {}

  /** Every check, in parallel, keyed by its name. */
  async runAll(): Promise<Record<string, HealthCheckDetail>> {
    const details = await Promise.all(this.checks.map((c) => this.run(c)));
    const out: Record<string, HealthCheckDetail> = {};
    this.checks.forEach((c, i) => (out[c.name] = details[i]));
    return out;
  }

  /** One check by name; `undefined` when no check has that name. */
  runOne(name: string): Promise<HealthCheckDetail> | undefined {
    const check = this.checks.find((c) => c.name === name);
    return check && this.run(check);
  }

  private run(check: ResolvedHealthCheck): Promise<HealthCheckDetail> {
    const current = this.runs.get(check.name);
    if (current === undefined) return this.start(check);
    if (!current.timedOut) return current.result;
    const runningMs = this.clock.now() - current.started;
    // One lost socket must not keep the pod unready for ever, nor may every probe add a call: past
    // HUNG_RETRY_FACTOR timeouts, one fresh call goes beside the hung one, never more than one.
    if (runningMs >= HUNG_RETRY_FACTOR * check.timeoutMs && (this.calls.get(check.name) ?? 0) < 2) {
      return this.start(check);
    }
    return Promise.resolve({
      status: 'down',
      error:
        `still running after ${runningMs} ms (timed out after ${check.timeoutMs} ms): ` +
        'not called again until it settles, or once beside it after ' +
        `${HUNG_RETRY_FACTOR * check.timeoutMs} ms`,
    });
  }

  private start({ name, check, timeoutMs }: ResolvedHealthCheck): Promise<HealthCheckDetail> {
    const run: CheckRun = { started: this.clock.now(), result: undefined!, timedOut: false };
    const settled = (): void => {
      if (this.runs.get(name) === run) this.runs.delete(name);
    };
    this.runs.set(name, run);
    run.result = (async (): Promise<HealthCheckDetail> => {
      let call: Promise<unknown> | undefined;
      try {
        // The wrapper declares its parameter, so runWithTimeout always makes a signal for the check.
        const result = await runWithTimeout(
          (signal: AbortSignal) => {
            call = invoke(check, signal);
            this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
            const ended = (): void => {
              const left = (this.calls.get(name) ?? 1) - 1;
              if (left > 0) this.calls.set(name, left);
              else this.calls.delete(name);
              settled();
            };
            call.then(ended, ended);
            return call;
          },
          timeoutMs,
          this.clock,
          `${name} health check`,
        );
        const latencyMs = this.clock.now() - run.started;
        if (result === false) return { status: 'down', latencyMs, error: 'the check returned false' };
        return { status: 'up', latencyMs };
      } catch (error) {
        if (call === undefined) settled();
        else if (isTimeoutError(error) && this.runs.get(name) === run) run.timedOut = true;
        return { status: 'down', latencyMs: this.clock.now() - run.started, error: messageOf(error) };
      }
    })();
    return run.result;
  }
}
