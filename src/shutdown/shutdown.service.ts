import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleDestroy,
  OnModuleInit,
  Optional,
  ShutdownSignal,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import { CleanupTaskFn, CleanupTaskOptions } from '../core/shutdown/cleanup-tasks.js';
import { Clock, TimerHandle, systemClock } from '../core/common/clock.js';
import { ShutdownCoordinator, ShutdownMetrics } from '../core/shutdown/coordinator.js';
import { ShutdownPhase } from '../core/shutdown/phases.js';
import { ReliabilityConfig } from '../config/reliability-config.js';
import { RELIABILITY_CLOCK, RELIABILITY_CONFIG } from '../reliability.tokens.js';
import { HttpRequestTracker } from '../core/shutdown/http-request-tracker.js';
import { hasAppSignalListener, observeShutdownSignals } from '../core/shutdown/signal-observer.js';

const SIGNALS: readonly string[] = Object.values(ShutdownSignal);
/** How long after bootstrap the library looks for `enableShutdownHooks()` (it may come after `listen()`). */
const HOOKS_CHECK_DELAY_MS = 1_000;
const WARNED = Symbol.for('nestjs-reliability.shutdown-hooks-warned');

/**
 * Graceful shutdown: on SIGTERM / SIGINT, readiness turns 503 for the grace period, in-flight HTTP
 * requests drain, then the cleanup tasks run. Needs `app.enableShutdownHooks()` in `main.ts`.
 *
 * ```ts
 * constructor(shutdown: ShutdownService) {
 *   shutdown.registerCleanupTask('queue', () => this.queue.close(), { timeoutMs: 3000 });
 * }
 * ```
 * @publicApi
 */
@Injectable()
export class ShutdownService
  implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown
{
  private readonly logger = new Logger('ShutdownService');
  private readonly clock: Clock;
  private readonly coordinator: ShutdownCoordinator;
  private unsubscribeSignals: (() => void) | undefined;
  private detachServer: (() => void) | undefined;
  private hooksCheck: TimerHandle | undefined;

  constructor(
    @Inject(RELIABILITY_CONFIG) config: ReliabilityConfig,
    @Optional() @Inject(RELIABILITY_CLOCK) clock?: Clock,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {
    this.clock = clock ?? systemClock;
    this.coordinator = new ShutdownCoordinator(
      this.clock,
      config.shutdown,
      // The force-exit watchdog is the only code of the library that ends the process.
      (code) => process.exit(code),
      this.logger,
    );
  }

  /**
   * Registers a task to run after the drain, e.g. closing a database client. Tasks run one at a
   * time: higher `priority` first, then the last registered first; each within `timeoutMs`
   * (default `SHUTDOWN_TASK_TIMEOUT`). A task that throws or times out does not stop the others.
   * @returns a disposer that removes the task (if it has not run yet)
   */
  registerCleanupTask(name: string, fn: CleanupTaskFn, options?: CleanupTaskOptions): () => void {
    return this.coordinator.registerCleanupTask(name, fn, options);
  }

  /** Phase, signal, phase start times, requests in flight / drained / cut, and each task's outcome. */
  getShutdownMetrics(): ShutdownMetrics {
    return this.coordinator.metrics();
  }

  /** The current phase. */
  getPhase(): ShutdownPhase {
    return this.coordinator.phase;
  }

  /** True from the signal (or `app.close()`) on. */
  isShuttingDown(): boolean {
    return this.coordinator.isShuttingDown();
  }

  /** Whether the process should receive traffic: false from the first moment of the shutdown. */
  isReady(): boolean {
    return this.coordinator.isReady();
  }

  /** Whether the process is alive (not stuck); stays true during a normal shutdown. */
  isLive(): boolean {
    return this.coordinator.isLive();
  }

  /**
   * Waits for the grace period and the drain. The library calls it before any `onModuleDestroy`
   * of the app; calling it yourself is only useful in custom shutdown flows.
   */
  drain(): Promise<void> {
    return this.coordinator.drain();
  }

  onModuleInit(): void {
    this.unsubscribeSignals = observeShutdownSignals(SIGNALS, (signal) => this.coordinator.onSignal(signal));
    this.attachHttpServer();
  }

  onApplicationBootstrap(): void {
    this.hooksCheck = this.clock.setTimer(() => this.warnIfNoShutdownHooks(), HOOKS_CHECK_DELAY_MS);
  }

  /** A fallback: the drain normally ran already, from the first module destroyed. */
  async onModuleDestroy(): Promise<void> {
    this.clearHooksCheck();
    await this.coordinator.drain();
  }

  /** Last of the app's hooks: after Nest closed the HTTP server and the microservices. */
  async onApplicationShutdown(): Promise<void> {
    try {
      await this.coordinator.cleanup();
    } finally {
      this.detachServer?.();
      this.detachServer = undefined;
      this.unsubscribeSignals?.();
      this.unsubscribeSignals = undefined;
    }
  }

  private attachHttpServer(): void {
    const server = this.adapterHost?.httpAdapter?.getHttpServer?.() as Server | undefined;
    if (!server) return; // a worker app: nothing to drain
    if (typeof server.closeIdleConnections !== 'function' || typeof server.prependListener !== 'function') {
      this.logger.warn(
        'The HTTP server is not a Node http/https server (HTTP/2?): its requests are not drained.',
      );
      return;
    }
    const tracker = new HttpRequestTracker(server, this.clock);
    const detach = tracker.attach();
    const remove = this.coordinator.addDrainTarget(tracker);
    this.detachServer = () => {
      detach();
      remove();
    };
  }

  private warnIfNoShutdownHooks(): void {
    this.hooksCheck = undefined;
    const holder = globalThis as unknown as Record<symbol, boolean | undefined>;
    if (holder[WARNED] || this.isShuttingDown()) return;
    if (hasAppSignalListener('SIGTERM') || hasAppSignalListener('SIGINT')) return;
    holder[WARNED] = true;
    this.logger.warn(
      'No SIGTERM/SIGINT listener found: call app.enableShutdownHooks() in main.ts. Without it a SIGTERM ' +
        'kills the process at once: no grace period, no drain of in-flight requests, no cleanup tasks.',
    );
  }

  private clearHooksCheck(): void {
    if (this.hooksCheck !== undefined) this.clock.clearTimer(this.hooksCheck);
    this.hooksCheck = undefined;
  }
}
