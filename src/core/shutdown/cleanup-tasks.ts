/**
 * Cleanup tasks run once, after the drain: by priority (highest first), then in reverse order of
 * registration (like a stack: what was set up last, and may depend on what came before, closes
 * first). They run one at a time, each bounded by its own timeout; a task that throws or hangs is
 * recorded and the next one runs anyway.
 */
import { Clock } from '../common/clock.js';
import { ConfigIssue, ReliabilityConfigError, isTimeoutError } from '../common/errors.js';
import { runWithTimeout } from '../common/deadline.js';

/**
 * A cleanup task. It gets an `AbortSignal` that aborts when its timeout expires, so that work
 * such as a flush loop can stop early.
 * @publicApi
 */
export type CleanupTaskFn = (signal: AbortSignal) => unknown;

/** @publicApi */
export interface CleanupTaskOptions {
  /** Time limit of this task, in ms (a positive integer). @default SHUTDOWN_TASK_TIMEOUT (5000) */
  timeoutMs?: number;
  /** Higher runs first; equal priorities run in reverse order of registration. @default 0 */
  priority?: number;
}

/** How a cleanup task ended. @publicApi */
export type CleanupTaskOutcome = 'ok' | 'failed' | 'timed_out';

/** The record of one cleanup task run. @publicApi */
export interface CleanupTaskResult {
  name: string;
  priority: number;
  timeoutMs: number;
  /** Epoch ms when the task started. */
  startedAt: number;
  durationMs: number;
  outcome: CleanupTaskOutcome;
  /** The error's message, for `failed` and `timed_out`. */
  error?: string;
}

interface RegisteredTask {
  readonly id: number;
  readonly name: string;
  readonly fn: CleanupTaskFn;
  readonly timeoutMs: number;
  readonly priority: number;
}

function validate(name: unknown, fn: unknown, options: CleanupTaskOptions | undefined): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const label = `registerCleanupTask(${JSON.stringify(String(name))})`;
  if (typeof name !== 'string' || name.trim() === '') {
    issues.push({ field: 'registerCleanupTask(name)', value: name, expected: 'must be a non-empty string' });
  }
  if (typeof fn !== 'function') {
    issues.push({ field: `${label}.fn`, value: fn, expected: 'must be a function' });
  }
  const timeoutMs = options?.timeoutMs;
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1)) {
    issues.push({
      field: `${label}.timeoutMs`,
      value: timeoutMs,
      expected: 'must be a positive integer number of milliseconds, e.g. 5000',
    });
  }
  const priority = options?.priority;
  if (priority !== undefined && (typeof priority !== 'number' || !Number.isFinite(priority))) {
    issues.push({ field: `${label}.priority`, value: priority, expected: 'must be a finite number' });
  }
  return issues;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
  ) {
    return (error as { message: string }).message;
  }
  return String(error);
}

/** The cleanup tasks of one app. */
export class CleanupTaskRegistry {
  private nextId = 1;
  private readonly tasks = new Map<number, RegisteredTask>();

  constructor(private readonly defaultTimeoutMs: number) {}

  /**
   * Adds a task; returns its disposer (removes the task if it has not started yet).
   * Throws {@link ReliabilityConfigError} naming the bad field and value.
   */
  register(name: string, fn: CleanupTaskFn, options?: CleanupTaskOptions): () => void {
    const issues = validate(name, fn, options);
    if (issues.length > 0) throw new ReliabilityConfigError(issues);
    const id = this.nextId++;
    this.tasks.set(id, {
      id,
      name,
      fn,
      timeoutMs: options?.timeoutMs ?? this.defaultTimeoutMs,
      priority: options?.priority ?? 0,
    });
    return () => {
      this.tasks.delete(id);
    };
  }

  get size(): number {
    return this.tasks.size;
  }

  /** The tasks in the order they will run. */
  ordered(): readonly RegisteredTask[] {
    return [...this.tasks.values()].sort((a, b) => b.priority - a.priority || b.id - a.id);
  }

  /**
   * Runs every task once, in order, each within its timeout. Never rejects. The hooks see each
   * task start and end, so that metrics (and the force-exit message) are current mid-run.
   */
  async runAll(
    clock: Clock,
    hooks: { onStart?: (name: string) => void; onDone?: (result: CleanupTaskResult) => void } = {},
  ): Promise<CleanupTaskResult[]> {
    const results: CleanupTaskResult[] = [];
    for (const task of this.ordered()) {
      this.tasks.delete(task.id);
      hooks.onStart?.(task.name);
      const result = await runOne(task, clock);
      results.push(result);
      hooks.onDone?.(result);
    }
    return results;
  }
}

async function runOne(task: RegisteredTask, clock: Clock): Promise<CleanupTaskResult> {
  const startedAt = clock.now();
  let signal: AbortSignal | undefined;
  const base = { name: task.name, priority: task.priority, timeoutMs: task.timeoutMs, startedAt };
  try {
    await runWithTimeout(
      (s) => {
        signal = s;
        return task.fn(s);
      },
      task.timeoutMs,
      clock,
      `cleanup task ${task.name}`,
    );
    return { ...base, durationMs: clock.now() - startedAt, outcome: 'ok' };
  } catch (error) {
    // Our own timeout aborts the task's signal with the very error we caught; a TimeoutError the
    // task threw by itself is a failure of the task.
    const timedOut = isTimeoutError(error) && signal?.aborted === true && signal.reason === error;
    return {
      ...base,
      durationMs: clock.now() - startedAt,
      outcome: timedOut ? 'timed_out' : 'failed',
      error: messageOf(error),
    };
  }
}
