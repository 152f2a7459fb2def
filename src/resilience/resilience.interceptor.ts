import {
  CallHandler,
  ExecutionContext,
  Inject,
  Injectable,
  Logger,
  NestInterceptor,
  Optional,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Observable } from 'rxjs';
import { CircuitBreakerService } from '../circuit-breaker/circuit-breaker.service.js';
import { Clock, systemClock } from '../core/common/clock.js';
import { isCircuitOpenError } from '../core/common/errors.js';
import { RELIABILITY_CLOCK } from '../reliability.tokens.js';
import { RELIABILITY_COPY, ReliabilityCopy, twoCopiesError } from '../reliability-copy.js';
import type { RetryConfig } from '../retry/retry.options.js';
import { RetryService } from '../retry/retry.service.js';
import type { ResilienceFailureReason } from './resilience.options.js';
import { CircuitAttempt, RouteCall } from './resilience-call.js';
import { gatewayTimeout, retryAfterSeconds, serviceUnavailable } from './resilience-errors.js';
import type { RouteResilienceMetrics } from './resilience-metrics.js';
import { RESILIENCE_SCOPE } from './resilience.constants.js';
import { ResilienceRegistry } from './resilience.registry.js';
import type { ResilienceRoute } from './resilience-route.js';

/**
 * Runs the routes under `@UseResilience()` through their pipeline. The decorator attaches it (no
 * `@UseInterceptors()` needed); `ReliabilityModule` also provides it, so inject it to read the
 * per-route metrics. Every instance shares one registry of routes and metrics.
 *
 * Errors: a route timeout answers 504, an open circuit (the route's, or one the handler called) 503
 * with `Retry-After` (seconds), unless a fallback applies; the handler's other errors pass through
 * unchanged. Subclass and override
 * {@link ResilienceInterceptor.toHttpError} to change the mapping.
 * @publicApi
 */
@Injectable()
export class ResilienceInterceptor implements NestInterceptor {
  readonly clock: Clock;
  protected readonly logger = new Logger('Resilience');
  protected readonly registry: ResilienceRegistry;
  protected readonly breakers: CircuitBreakerService;
  protected readonly retries: RetryService;

  /**
   * Every dependency but the adapter host is optional, so that a decorated controller compiles in
   * a test module without `ReliabilityModule`: its routes then run unprotected (see below). The
   * tokens are explicit: the metadata of a `T | undefined` parameter says only `Object`. When the
   * services are missing but a `ReliabilityModule` is there, it belongs to another copy of the
   * package: boot fails rather than run the routes unprotected.
   */
  constructor(
    @Optional() @Inject(ResilienceRegistry) registry: ResilienceRegistry | undefined,
    @Optional() @Inject(CircuitBreakerService) breakers: CircuitBreakerService | undefined,
    @Optional() @Inject(RetryService) retries: RetryService | undefined,
    protected readonly adapterHost: HttpAdapterHost,
    @Optional() @Inject(RELIABILITY_CLOCK) clock?: Clock,
    @Optional() @Inject(RELIABILITY_COPY) moduleCopy?: ReliabilityCopy,
  ) {
    this.clock = clock ?? systemClock;
    if (registry === undefined || breakers === undefined || retries === undefined) {
      if (moduleCopy !== undefined) throw twoCopiesError(moduleCopy);
      warnUnprotected(this.logger);
      // An empty registry finds no route, so every call passes straight through to the handler and
      // the missing services are never reached.
      this.registry = new ResilienceRegistry();
    } else {
      this.registry = registry;
    }
    this.breakers = breakers!;
    this.retries = retries!;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const route = this.registry.find(context.getHandler(), context.getClass());
    // Not a protected route, or already inside its pipeline: `@UseResilience()` on both the class
    // and the method attaches the interceptor twice, and the inner one must not run a second
    // pipeline inside each attempt of the outer one.
    if (
      route === undefined ||
      (context.getArgByIndex(0) as Record<symbol, unknown>)?.[RESILIENCE_SCOPE] !== undefined
    ) {
      return next.handle();
    }
    return new Observable<unknown>((subscriber) => {
      const call = new RouteCall(this, route, context, next);
      call.start(subscriber);
      // Unsubscribing before the end (the client went away) aborts the attempt in flight.
      return call;
    });
  }

  /** Metrics of every protected route, keyed by circuit name (copies). */
  getAllResilienceMetrics(): Record<string, RouteResilienceMetrics> {
    return this.registry.snapshotAll();
  }

  /** Metrics of one circuit name, or `undefined` when no route uses it. */
  getResilienceMetrics(name: string): RouteResilienceMetrics | undefined {
    return this.registry.snapshot(name);
  }

  /** Zeroes the metrics of one name, or of all. */
  resetResilienceMetrics(name?: string): void {
    this.registry.reset(name);
  }

  /**
   * What the client gets for a failure no fallback replaced: 504 for a route timeout, 503 with
   * `Retry-After` for an open circuit (the route's own, or one the handler called), and any other
   * error unchanged.
   */
  toHttpError(error: unknown, reason: ResilienceFailureReason, context: ExecutionContext): unknown {
    if (reason === 'timeout') return gatewayTimeout(error);
    if (reason === 'circuit-open' && isCircuitOpenError(error)) {
      const response = context.switchToHttp().getResponse();
      this.adapterHost.httpAdapter.setHeader(response, 'Retry-After', String(retryAfterSeconds(error)));
      return serviceUnavailable(error);
    }
    return error;
  }

  /** @internal */
  executeInCircuit(route: ResilienceRoute, fn: CircuitAttempt): Promise<unknown> {
    return this.breakers.execute(route.name, fn, undefined, route.circuitOptions);
  }

  /** @internal */
  executeWithRetry(fn: (attempt: number) => Promise<unknown>, config: RetryConfig): Promise<unknown> {
    return this.retries.executeWithRetry(fn, config);
  }

  /** @internal */
  isHeadersSent(response: unknown): boolean {
    return this.adapterHost.httpAdapter.isHeadersSent(response);
  }

  /** @internal */
  setStatus(response: unknown, status: number): void {
    this.adapterHost.httpAdapter.status(response, status);
  }

  /** @internal */
  setHeader(response: unknown, name: string, value: string): void {
    this.adapterHost.httpAdapter.setHeader(response, name, value);
  }

  /** @internal */
  onStreamed(route: ResilienceRoute): void {
    if (route.streamWarned) return;
    route.streamWarned = true;
    this.logger.warn(
      `${route.id} failed after its response had started: it is not retried and no fallback replaces it.`,
    );
  }
}

let warnedUnprotected = false;

/** Once per process: an app (or a unit test) whose `@UseResilience()` routes have no pipeline. */
function warnUnprotected(logger: Logger): void {
  if (warnedUnprotected) return;
  warnedUnprotected = true;
  logger.warn(
    'ReliabilityModule is not imported: @UseResilience() routes run unprotected (no timeout, retry, ' +
      'circuit breaker or fallback). Import ReliabilityModule.forRoot(), or ReliabilityTestingModule.forRoot() ' +
      "from 'nestjs-reliability/testing' in tests.",
  );
}
