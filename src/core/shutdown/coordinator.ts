/**
 * The graceful shutdown sequence, framework-free: GRACE → DRAINING → CLEANUP → STOPPED, the
 * force-exit watchdog, and the metrics. The Nest layer tells it when a signal arrived, when to
 * drain (before any `onModuleDestroy` closes a resource) and when to clean up; servers are
 * plugged in as {@link DrainTarget}s.
 */
import { Clock, TimerHandle } from '../common/clock.js';
import {
  CleanupTaskFn,
  CleanupTaskOptions,
  CleanupTaskRegistry,
  CleanupTaskResult,
} from './cleanup-tasks.js';
import { PhaseTimeline, ShutdownPhase } from './phases.js';

/** The same signal again within this long is the same delivery seen twice (see onSignal). */
export const REPEATED_SIGNAL_MS = 200;

/** How a target drains. */
export interface DrainOptions {
  /**
   * How long a keep-alive connection must have been idle before the drain closes it (0: at once).
   * On a signal a load balancer may still be reusing its connections; on `app.close()` nobody is.
   */
  idleLingerMs: number;
}

/** Something with requests in flight that must finish before cleanup: an HTTP server. */
export interface DrainTarget {
  /** Requests in flight now. */
  inFlight(): number;
  /** Stops accepting connections; from now on responses close their connection. */
  startDrain(options: DrainOptions): void;
  /** Resolves when nothing is in flight and no connection is left open. */
  whenIdle(): Promise<void>;
  /** Ends every request still in flight; returns how many were cut. */
  cut(): number;
  /** Closes the connections left (idle ones still lingering, at the deadline). */
  finish(): void;
  /** Requests finished while draining, cut at the deadline, and seen in all. */
  counts(): { drained: number; cut: number; total: number };
}

/** The timings the coordinator uses (see `SHUTDOWN_*`). */
export interface ShutdownTimings {
  drainTimeout: number;
  forceTimeout: number;
  healthGracePeriod: number;
  taskTimeout: number;
  graceOnClose: boolean;
}

/** Where the coordinator reports; Nest's Logger fits. */
export interface ShutdownLog {
  log(message: string): void;
  debug?(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * What started the shutdown: a process signal (seen before the app closed), or a programmatic
 * `app.close()`.
 * @publicApi
 */
export type ShutdownTrigger = 'signal' | 'close';

/**
 * A snapshot of the shutdown: phase, timings, requests and cleanup tasks.
 * @publicApi
 */
export interface ShutdownMetrics {
  phase: ShutdownPhase;
  /** The signal that started the shutdown, e.g. `SIGTERM`; `null` for `app.close()` or while running. */
  signal: string | null;
  trigger: ShutdownTrigger | null;
  /** When each phase started, in epoch ms; `null` when not reached (or skipped). */
  phaseStartedAt: Record<ShutdownPhase, number | null>;
  /** When the drain ended (everything finished, or the rest was cut), in epoch ms. */
  drainFinishedAt: number | null;
  /** When the watchdog will end the process, in epoch ms; `null` when not armed. */
  forceExitAt: number | null;
  requests: {
    /** Requests in flight now. */
    inFlight: number;
    /** Requests that finished during DRAINING (in flight when it began, or arriving on open connections). */
    drained: number;
    /** Requests still in flight at the drain deadline, whose connections were closed. */
    cut: number;
    /** Requests seen since the app started. */
    total: number;
  };
  /** Cleanup tasks registered and not yet run. */
  pendingTasks: number;
  /** The task running now, if any. */
  runningTask: string | null;
  /** One record per task that ran, in run order. */
  tasks: CleanupTaskResult[];
}

/**
 * On a signal, how long an idle keep-alive connection is left open in the drain (capped by the
 * drain timeout). A proxy reuses its most recently used connections first; one idle this long
 * is unlikely to be picked at the instant it is closed.
 */
const IDLE_LINGER_MS = 1_000;

const SILENT: ShutdownLog = { log: () => undefined, warn: () => undefined, error: () => undefined };

/** Runs one app's shutdown. Every step is idempotent: calling it twice waits for the first run. */
export class ShutdownCoordinator {
  private readonly timeline: PhaseTimeline;
  private readonly tasks: CleanupTaskRegistry;
  private readonly targets = new Set<DrainTarget>();
  private signal: string | null = null;
  private signalAt = 0;
  private trigger: ShutdownTrigger | null = null;
  private watchdog: TimerHandle | undefined;
  private forceExitAt: number | null = null;
  private drainFinishedAt: number | null = null;
  private drainRun: Promise<void> | undefined;
  private cleanupRun: Promise<void> | undefined;
  private results: CleanupTaskResult[] = [];
  private runningTask: string | null = null;
  private releaseProcess: (() => void) | undefined;
  /** Aborted by a second signal, to end the grace period early. */
  private readonly graceCut = new AbortController();
  /** Counts of targets already removed, so that totals survive a detach. */
  private retired = { drained: 0, cut: 0, total: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly timings: ShutdownTimings,
    /** Ends the process: only the watchdog calls it. */
    private readonly exit: (code: number) => void,
    private readonly logger: ShutdownLog = SILENT,
  ) {
    this.timeline = new PhaseTimeline(clock);
    this.tasks = new CleanupTaskRegistry(timings.taskTimeout);
  }

  get phase(): ShutdownPhase {
    return this.timeline.phase;
  }

  isShuttingDown(): boolean {
    return this.timeline.phase !== 'RUNNING';
  }

  /** Ready for traffic: only while running. */
  isReady(): boolean {
    return this.timeline.phase === 'RUNNING';
  }

  /**
   * Alive: answering at all means the event loop is not blocked. The one stuck state visible from
   * here is a shutdown that ran past its force-exit deadline (the watchdog could not end the process).
   */
  isLive(): boolean {
    return this.forceExitAt === null || this.clock.now() <= this.forceExitAt;
  }

  registerCleanupTask(name: string, fn: CleanupTaskFn, options?: CleanupTaskOptions): () => void {
    if (this.timeline.phase === 'CLEANUP' || this.timeline.phase === 'STOPPED') {
      this.logger.warn(`Cleanup task "${name}" was registered after cleanup started; it will not run.`);
    }
    return this.tasks.register(name, fn, options);
  }

  addDrainTarget(target: DrainTarget): () => void {
    this.targets.add(target);
    return () => {
      if (!this.targets.delete(target)) return;
      const c = target.counts();
      this.retired = {
        drained: this.retired.drained + c.drained,
        cut: this.retired.cut + c.cut,
        total: this.retired.total + c.total,
      };
    };
  }

  /**
   * A shutdown signal arrived: readiness turns 503 at once (GRACE) and the watchdog starts.
   * The drain itself waits for {@link drain}, called from the app's first destroy hook.
   */
  onSignal(signal: string): void {
    if (this.signal !== null) {
      // Ctrl+C under `npm start` reaches the app twice at once: from the terminal (same process
      // group) and forwarded by npm. That is one press, not a request to cut the grace period.
      // A clock stepped back (a negative gap) is not a repeat: a real second press must not be lost.
      const gap = this.clock.now() - this.signalAt;
      if (signal === this.signal && gap >= 0 && gap < REPEATED_SIGNAL_MS) {
        this.logger.debug?.(`${signal} delivered twice within ${gap} ms: taken as one signal.`);
        return;
      }
      if (this.timeline.phase === 'GRACE' && !this.graceCut.signal.aborted) {
        // Ctrl+C twice in development: don't wait out the rest of the grace period.
        this.logger.warn(`${signal} received again: ending the grace period now.`);
        this.graceCut.abort();
      } else {
        this.logger.warn(`${signal} received while already shutting down (${this.signal}); ignored.`);
      }
      return;
    }
    this.signal = signal;
    this.signalAt = this.clock.now();
    this.trigger ??= 'signal';
    this.holdProcess();
    this.armWatchdog();
    if (this.timeline.enter('GRACE')) {
      this.logger.log(
        `${signal} received: readiness is 503 for ${this.timings.healthGracePeriod} ms (grace), ` +
          `then draining for up to ${this.timings.drainTimeout} ms.`,
      );
    }
  }

  /** Grace (what is left of it), then the drain. Resolves when no request is in flight. */
  drain(): Promise<void> {
    this.drainRun ??= this.runDrain();
    return this.drainRun;
  }

  /** The drain (if not done yet), then the cleanup tasks; ends in STOPPED. Never rejects. */
  cleanup(): Promise<void> {
    this.cleanupRun ??= this.runCleanup();
    return this.cleanupRun;
  }

  /** Stops the watchdog. For tests and embedders that keep the process after a shutdown. */
  disarmWatchdog(): void {
    if (this.watchdog !== undefined) this.clock.clearTimer(this.watchdog);
    this.watchdog = undefined;
    this.forceExitAt = null;
  }

  metrics(): ShutdownMetrics {
    let inFlight = 0;
    const counts = { ...this.retired };
    for (const target of this.targets) {
      inFlight += target.inFlight();
      const c = target.counts();
      counts.drained += c.drained;
      counts.cut += c.cut;
      counts.total += c.total;
    }
    return {
      phase: this.timeline.phase,
      signal: this.signal,
      trigger: this.trigger,
      phaseStartedAt: this.timeline.snapshot(),
      drainFinishedAt: this.drainFinishedAt,
      forceExitAt: this.forceExitAt,
      requests: { inFlight, ...counts },
      pendingTasks: this.tasks.size,
      runningTask: this.runningTask,
      tasks: this.results.map((r) => ({ ...r })),
    };
  }

  /**
   * Keeps the process alive from the start of the shutdown to STOPPED. Every library timer is
   * unref'd, and once the server stops listening nothing else may hold the event loop: without
   * this, a worker app (or one waiting on a hung cleanup task) would exit in the middle of its
   * shutdown, skipping the rest. Released at STOPPED, so the process then exits by itself.
   */
  private holdProcess(): void {
    if (this.releaseProcess) return;
    let handle: TimerHandle;
    const arm = (): void => {
      handle = this.clock.setTimer(arm, 60_000);
      (handle as { ref?: () => unknown } | null)?.ref?.();
    };
    arm();
    this.releaseProcess = () => this.clock.clearTimer(handle);
  }

  private armWatchdog(): void {
    const ms = this.timings.forceTimeout;
    if (ms <= 0 || this.watchdog !== undefined) return;
    this.forceExitAt = this.clock.now() + ms;
    this.watchdog = this.clock.setTimer(() => {
      const m = this.metrics();
      this.logger.error(
        `Graceful shutdown did not finish within SHUTDOWN_FORCE_TIMEOUT (${ms} ms): exiting with code 1. ` +
          `Phase ${m.phase}, ${m.requests.inFlight} request(s) in flight` +
          (m.runningTask ? `, cleanup task "${m.runningTask}" still running` : '') +
          '.',
      );
      this.exit(1);
    }, ms);
  }

  private async runDrain(): Promise<void> {
    this.holdProcess();
    const grace = this.timings.healthGracePeriod;
    if (this.timeline.phase === 'RUNNING') {
      this.trigger = 'close';
      if (this.timings.graceOnClose && grace > 0) {
        this.timeline.enter('GRACE');
        this.logger.log(`app.close(): readiness is 503 for ${grace} ms (grace) before draining.`);
        await this.graceWait(grace);
      }
    } else if (this.timeline.phase === 'GRACE') {
      const left = this.timeline.startedAt('GRACE')! + grace - this.clock.now();
      if (left > 0) await this.graceWait(left);
    }
    this.timeline.enter('DRAINING');
    const targets = [...this.targets];
    const idleLingerMs = this.trigger === 'signal' ? Math.min(IDLE_LINGER_MS, this.timings.drainTimeout) : 0;
    for (const target of targets) target.startDrain({ idleLingerMs });
    const waiting = targets.reduce((n, t) => n + t.inFlight(), 0);
    if (waiting > 0) {
      this.logger.log(`Draining ${waiting} request(s) in flight, for up to ${this.timings.drainTimeout} ms.`);
    }
    const idle = await this.waitIdle(targets, this.timings.drainTimeout);
    if (!idle && targets.some((t) => t.inFlight() > 0)) {
      const cut = targets.reduce((n, t) => n + t.cut(), 0);
      this.logger.warn(
        `SHUTDOWN_DRAIN_TIMEOUT (${this.timings.drainTimeout} ms) reached: cut ${cut} request(s) still in flight.`,
      );
    }
    for (const target of targets) target.finish();
    this.drainFinishedAt = this.clock.now();
  }

  /** Sleeps `ms`, or less if a second signal comes. */
  private graceWait(ms: number): Promise<void> {
    return this.clock.sleep(ms, this.graceCut.signal).catch(() => undefined);
  }

  /** True when every target went idle before `ms`. */
  private async waitIdle(targets: DrainTarget[], ms: number): Promise<boolean> {
    if (targets.length === 0) return true;
    const deadline = new AbortController();
    const idle = Promise.all(targets.map((t) => t.whenIdle())).then(() => true);
    const late = this.clock.sleep(ms, deadline.signal).then(
      () => false,
      () => true,
    );
    try {
      return await Promise.race([idle, late]);
    } finally {
      deadline.abort();
    }
  }

  private async runCleanup(): Promise<void> {
    try {
      await this.drain();
    } catch (error) {
      this.logger.error(`Drain failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.timeline.enter('CLEANUP');
    const count = this.tasks.size;
    await this.tasks.runAll(this.clock, {
      onStart: (name) => {
        this.runningTask = name;
      },
      onDone: (result) => {
        this.runningTask = null;
        this.results.push(result);
      },
    });
    for (const r of this.results) {
      if (r.outcome !== 'ok') {
        this.logger.warn(`Cleanup task "${r.name}" ${r.outcome} after ${r.durationMs} ms: ${r.error}`);
      }
    }
    this.timeline.enter('STOPPED');
    this.releaseProcess?.();
    this.releaseProcess = undefined;
    const started = this.timeline.startedAt('GRACE') ?? this.timeline.startedAt('DRAINING')!;
    const m = this.metrics();
    this.logger.log(
      `Shutdown complete in ${this.clock.now() - started} ms: ${m.requests.drained} request(s) drained, ` +
        `${m.requests.cut} cut, ${count} cleanup task(s).`,
    );
  }
}
