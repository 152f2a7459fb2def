import { Clock } from '../core/clock.js';
import { runWithTimeout } from '../core/timeout.js';

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

/**
 * Runs the custom checks. Probes that arrive while a check is still running share its run, so
 * a readiness endpoint polled by many probes calls each dependency at most once at a time.
 */
export class HealthCheckRunner {
  private readonly running = new Map<string, Promise<HealthCheckDetail>>();

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
    let pending = this.running.get(check.name);
    if (pending === undefined) {
      pending = this.execute(check).finally(() => this.running.delete(check.name));
      this.running.set(check.name, pending);
    }
    return pending;
  }

  private async execute({ name, check, timeoutMs }: ResolvedHealthCheck): Promise<HealthCheckDetail> {
    const started = this.clock.now();
    try {
      // The wrapper declares its parameter, so runWithTimeout always makes a signal for the check.
      const result = await runWithTimeout(
        (signal: AbortSignal) => check(signal),
        timeoutMs,
        this.clock,
        `health check "${name}"`,
      );
      const latencyMs = this.clock.now() - started;
      if (result === false) return { status: 'down', latencyMs, error: 'the check returned false' };
      return { status: 'up', latencyMs };
    } catch (error) {
      return { status: 'down', latencyMs: this.clock.now() - started, error: messageOf(error) };
    }
  }
}
