import type { CallHandler, ExecutionContext } from '@nestjs/common';
import type { Subscriber, Unsubscribable } from 'rxjs';
import type { Clock } from '../core/common/clock.js';
import { isCircuitOpenError, isTimeoutError } from '../core/common/errors.js';
import { CallersOwnRejection, isCallersOwnRejection } from '../core/classification/failure-classification.js';
import { isRetryPolicy } from '../core/retry/retry.js';
import type { RetryConfig } from '../retry/retry.options.js';
import type { ResilienceFailureReason, ResilienceFallbackContext } from './resilience.options.js';
import { clientClosedRequest, isClientError, markUnretryable } from './resilience-errors.js';
import type { ResilienceRoute } from './resilience-route.js';
import { AbortScope, isOwnTimeout, markOwnTimeout, runScoped } from '../core/policy/abort-scope.js';
import { bindAttemptScope } from './resilience-signal.decorator.js';
import { isThenable } from '../core/common/is-thenable.js';

/** The function run inside the circuit: without a parameter the circuit makes no AbortController. */
export type CircuitAttempt = (() => Promise<unknown>) | ((signal: AbortSignal) => Promise<unknown>);

/** What a call needs from the interceptor that starts it. */
export interface RouteCallHost {
  readonly clock: Clock;
  /** The route's circuit: `CircuitBreakerService.execute`. */
  executeInCircuit(route: ResilienceRoute, fn: CircuitAttempt): Promise<unknown>;
  /** `RetryService.executeWithRetry`. */
  executeWithRetry(fn: (attempt: number) => Promise<unknown>, config: RetryConfig): Promise<unknown>;
  isHeadersSent(response: unknown): boolean;
  setStatus(response: unknown, status: number): void;
  setHeader(response: unknown, name: string, value: string): void;
  /** Maps a failure nobody replaced to what the client gets (504, 503 + Retry-After, or the error). */
  toHttpError(error: unknown, reason: ResilienceFailureReason, context: ExecutionContext): unknown;
  /** Called when a failed attempt had already started its response (once per route). */
  onStreamed(route: ResilienceRoute): void;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * One request through one route's pipeline, outer to inner:
 * fallback → total timeout → retry → circuit breaker → attempt timeout → handler.
 * Every attempt subscribes to a fresh `next.handle()`, so the handler (and its pipes) run again.
 *
 * Written for the success path, which runs on every request: the call is itself the observer of
 * the handler's Observable and the teardown Nest gets, so an attempt allocates no closures.
 * Attempts run one after another, so one set of attempt fields is enough.
 */
export class RouteCall implements Unsubscribable {
  /** Handler calls so far. */
  attempts = 0;
  settled = false;
  private total: AbortScope | undefined = undefined;
  /** Without a total timeout: the request's scope for the retry's backoff, made on first need. */
  private backoffScope: AbortScope | undefined = undefined;
  /** The backoff signal joined with the one in the route's retry config, when it has one. */
  private backoffWake: AbortSignal | undefined = undefined;
  private current: AbortScope | undefined = undefined;
  private inCircuit: CircuitAttempt | undefined = undefined;
  private started = 0;
  private abandoned: DOMException | undefined = undefined;

  constructor(
    private readonly host: RouteCallHost,
    private readonly route: ResilienceRoute,
    private readonly context: ExecutionContext,
    private readonly handler: CallHandler,
  ) {}

  /** Runs the pipeline and reports to `subscriber` (Nest's): one value then complete, or an error. */
  start(subscriber: Pick<Subscriber<unknown>, 'next' | 'error' | 'complete'>): void {
    const { route, host } = this;
    route.metrics.requests++;
    this.started = host.clock.now();
    watchClient(this, this.context.getArgByIndex(1), this.context.getArgByIndex(0));
    let pipeline: Promise<unknown>;
    if (route.totalTimeoutMs > 0) {
      const total = (this.total = new AbortScope());
      pipeline = runScoped(
        () => this.retried(),
        route.totalTimeoutMs,
        host.clock,
        total,
        route.name,
        route.metrics,
      );
    } else {
      pipeline = this.retried();
    }
    pipeline.then(
      (value) => {
        this.settled = true;
        if (this.abandoned !== undefined) return this.endAbandoned(subscriber);
        const metrics = this.route.metrics;
        metrics.successes++;
        metrics.latency.record(this.host.clock.now() - this.started);
        subscriber.next(value);
        subscriber.complete();
      },
      (error: unknown) => {
        this.settled = true;
        if (this.abandoned !== undefined) return this.endAbandoned(subscriber);
        this.route.metrics.latency.record(this.host.clock.now() - this.started);
        let body: unknown;
        try {
          body = this.recover(error);
        } catch (mapped) {
          subscriber.error(mapped);
          return;
        }
        if (!isThenable(body)) {
          subscriber.next(body);
          subscriber.complete();
          return;
        }
        body.then(
          (value) => {
            subscriber.next(value);
            subscriber.complete();
          },
          (fallbackError: unknown) => subscriber.error(fallbackError),
        );
      },
    );
  }

  /** {@link RouteCall.start} as a promise (for tests and direct use). */
  run(): Promise<unknown> {
    return new Promise((resolve, reject) =>
      this.start({ next: resolve, error: reject, complete: () => undefined }),
    );
  }

  /**
   * Nest unsubscribed, or the response closed before its answer: after the end (nothing to do), or
   * because the client went away (stop the handler; the attempt settles with an `AbortError`).
   */
  unsubscribe(): void {
    if (this.settled) return;
    this.settled = true;
    const reason = (this.abandoned = new DOMException('The request was abandoned', 'AbortError'));
    this.total?.abort(reason);
    this.backoffScope?.abort(reason);
    this.current?.abort(reason);
  }

  /**
   * @internal The signal the retry sleeps on when the route has no total timeout: `undefined`
   * until an attempt has run (nothing can be sleeping before that), so a request that succeeds at
   * once makes no AbortController. Aborted when the client goes away.
   */
  backoffSignal(now = false, own?: AbortSignal): AbortSignal | undefined {
    if (this.attempts === 0 && !now) return own;
    const scope = (this.backoffScope ??= new AbortScope());
    if (this.abandoned !== undefined) scope.abort(this.abandoned);
    if (own === undefined) return scope.signal;
    return (this.backoffWake ??= AbortSignal.any([own, scope.signal]));
  }

  /** Nobody waits for the answer: no fallback, no mapping, no Retry-After header on a closed response. */
  private endAbandoned(subscriber: Pick<Subscriber<unknown>, 'error'>): void {
    this.route.metrics.abandoned++;
    // Nest's HTTP layer awaits the last value and never unsubscribes: end it, with an HttpException
    // so that Nest's exception filter does not log it as an unhandled error.
    subscriber.error(clientClosedRequest(this.abandoned));
  }

  // ---- the handler's Observable -------------------------------------------------------

  /**
   * What the attempt rejects with. A handler error after part of the response went out cannot be
   * retried or replaced. The handler's own HttpException 4xx (whatever its status, 429 included) is
   * its answer to this client, not a dependency's failure: its retry does not run the handler
   * again, and the route's circuit, and only that one, does not count it (the same error object
   * may be a module constant that a dependency's circuit must still count).
   */
  private onHandlerError(error: unknown): unknown {
    if (this.host.isHeadersSent(this.context.getArgByIndex(1))) {
      markUnretryable(error);
      this.host.onStreamed(this.route);
    } else if (isClientError(error) && !isOwnTimeout(error)) {
      markUnretryable(error);
      if (this.route.breaker) return new CallersOwnRejection(error);
    }
    return error;
  }

  // ---- the layers ---------------------------------------------------------------------

  private retried(): Promise<unknown> {
    const retry = this.route.retry;
    if (retry === undefined || !this.mayRetry()) return this.attempt(1);
    // With a total timeout, its signal also wakes a pending backoff and ends the loop. A signal in
    // the route's retry config (an app-wide one, say) still does too.
    // A ready policy keeps "no budget" as `budget: undefined`, which the spread would turn back into
    // "the module's budget": say `false` explicitly.
    const config =
      this.total === undefined
        ? withBackoffSignal(retry, this)
        : {
            ...retry,
            signal:
              retry.signal === undefined
                ? this.total.signal
                : AbortSignal.any([retry.signal, this.total.signal]),
            // A Retry-After that ends past the total timeout is given up at once, not slept into a 504.
            deadlineAt: Math.min(
              this.started + this.route.totalTimeoutMs,
              retry.deadlineAt ?? Number.POSITIVE_INFINITY,
            ),
            budget: isRetryPolicy(retry) && retry.budget === undefined ? false : retry.budget,
          };
    return this.host.executeWithRetry((attempt) => this.attempt(attempt), config);
  }

  private mayRetry(): boolean {
    if (this.route.retryScope === 'always') return true;
    const method = (this.context.getArgByIndex(0) as { method?: string } | undefined)?.method;
    return method !== undefined && IDEMPOTENT_METHODS.has(method.toUpperCase());
  }

  private attempt(attempt: number): Promise<unknown> {
    // Aborted (total timeout, client gone) while the retry loop was between two attempts: the
    // circuit must not file an attempt that never ran.
    const total = this.total;
    if (total !== undefined && total.aborted) return Promise.reject(total.reason);
    if (this.abandoned !== undefined) return Promise.reject(this.abandoned);
    if (attempt > 1) this.route.metrics.retries++;
    if (!this.route.breaker) return this.guarded(undefined);
    // Only when the circuit times the call itself (a forRoot timeout) does the attempt take the
    // circuit's signal: a function without parameters costs the circuit no AbortController.
    this.inCircuit ??= this.route.circuitTimes
      ? (signal: AbortSignal) => this.guarded(signal)
      : () => this.guarded(undefined);
    return this.host.executeInCircuit(this.route, this.inCircuit).then(undefined, unwrapCallersOwn);
  }

  /** Inside the breaker: the attempt timeout around one handler call. */
  private guarded(circuitSignal: AbortSignal | undefined): Promise<unknown> {
    const total = this.total;
    const scope = new AbortScope();
    this.current = scope;
    if (total !== undefined) total.child = scope;
    if (circuitSignal !== undefined) linkCircuitSignal(circuitSignal, scope, this.route);
    this.attempts++;
    bindAttemptScope(this.context.getArgByIndex(0) as object, scope);
    const { route, host } = this;
    if (route.timeoutMs <= 0) return this.handle(scope);
    return runScoped(() => this.handle(scope), route.timeoutMs, host.clock, scope, route.name, route.metrics);
  }

  private handle(scope: AbortScope): Promise<unknown> {
    return new Promise((resolve, reject) => {
      // One observer per attempt: a late value from an attempt that already timed out must not
      // settle the attempt that replaced it.
      let last: unknown;
      const subscription = this.handler.handle().subscribe({
        next: (value) => {
          last = value;
        },
        error: (error: unknown) => {
          scope.onAbort = undefined;
          reject(this.onHandlerError(error));
        },
        complete: () => {
          // A later abort (a total timeout during the next backoff) has nothing left to stop.
          scope.onAbort = undefined;
          resolve(last);
        },
      });
      // An abort (timeout, total timeout, client gone) unsubscribes an Observable handler, which
      // stops its producer, and settles the attempt at once with the abort's reason: the breaker
      // awaiting it must see an outcome now, not whenever the handler would have answered (never,
      // for a hung dependency). A total timeout's TimeoutError is then the circuit's failure, a
      // client's AbortError is not counted, and a probe gives its slot back.
      if (!subscription.closed) {
        scope.onAbort = () => {
          subscription.unsubscribe();
          reject(scope.reason);
        };
      }
    });
  }

  /**
   * The fallback layer. By default the handler's own 4xx passes unchanged and every other failure
   * is replaced; `fallbackIf` replaces that rule. What is not replaced is mapped (504, 503).
   */
  private recover(error: unknown): unknown {
    const { route, host, context } = this;
    const metrics = route.metrics;
    const ownTimeout = isOwnTimeout(error);
    const clientError = !ownTimeout && isClientError(error);
    let reason: ResilienceFailureReason = 'error';
    if (clientError) {
      metrics.clientErrors++;
    } else {
      metrics.failures++;
      if (ownTimeout) reason = 'timeout';
      else if (isCircuitOpenError(error)) {
        // The route's circuit or one the handler called (a dependency's): either way the request was
        // refused without trying, and the client should come back after Retry-After.
        reason = 'circuit-open';
        metrics.circuitRejections++;
      }
    }
    const response = context.getArgByIndex(1);
    // Part of the response is on the wire: nothing can replace it.
    if (host.isHeadersSent(response)) throw error;
    const fallback = route.fallback;
    if (fallback === undefined) throw clientError ? error : host.toHttpError(error, reason, context);
    const fallbackContext: ResilienceFallbackContext = {
      name: route.name,
      reason,
      attempts: this.attempts,
      executionContext: context,
    };
    const fallbackIf = route.fallbackIf;
    const wanted = fallbackIf === undefined ? !clientError : fallbackIf(error, fallbackContext) === true;
    if (!wanted) throw clientError ? error : host.toHttpError(error, reason, context);
    const served = fallback(error, fallbackContext);
    const serve = (body: unknown): unknown => {
      metrics.fallbacks++;
      host.setStatus(response, route.fallbackStatus);
      // A fallback body looks like a real answer: say that it is not, and why.
      if (route.fallbackHeader !== undefined) host.setHeader(response, route.fallbackHeader, reason);
      return body;
    };
    return isThenable(served) ? Promise.resolve(served).then(serve) : serve(served);
  }
}

const ROUTE_CALL = Symbol('nestjs-reliability.route-call');

/** Per route policy: a prototype whose `signal` is the call's {@link RouteCall.backoffSignal}. */
const BACKOFF_PROTOTYPES = new WeakMap<object, object>();

/**
 * The route's retry policy, with a signal that the client's leaving aborts, so that it wakes a
 * pending backoff. A ready policy (what the explorer builds) is read field by field, so one
 * object per request that inherits from it is enough, and its signal is made only when the retry
 * asks for it after a failure. A plain config is merged on every call anyway: it gets the signal
 * now.
 */
function withBackoffSignal(retry: RetryConfig, call: RouteCall): RetryConfig {
  // The config's own signal, which the one below would hide, is joined to it: only when there is one.
  const own = retry.signal;
  if (!isRetryPolicy(retry)) return { ...retry, signal: call.backoffSignal(true, own) };
  let proto = BACKOFF_PROTOTYPES.get(retry);
  if (proto === undefined) {
    proto = Object.create(retry, {
      signal: {
        get(this: { [ROUTE_CALL]: RouteCall }) {
          return this[ROUTE_CALL].backoffSignal(false, own);
        },
      },
    }) as object;
    BACKOFF_PROTOTYPES.set(retry, proto);
  }
  const config = Object.create(proto) as { [ROUTE_CALL]: RouteCall };
  config[ROUTE_CALL] = call;
  return config as unknown as RetryConfig;
}

/** The socket a queued response watches, until the response closes. */
const SOCKET_WATCH = Symbol('nestjs-reliability.socket-watch');
/** On a socket: its queued responses, watched by one `close` listener however deep the pipeline. */
const QUEUED = Symbol('nestjs-reliability.queued-responses');

interface Emitter {
  on(event: string, listener: () => void): unknown;
  removeListener(event: string, listener: () => void): unknown;
  [QUEUED]?: Set<WatchedResponse>;
}

interface WatchedResponse {
  on?: unknown;
  socket?: unknown;
  writableFinished?: boolean;
  [ROUTE_CALL]?: RouteCall;
  [SOCKET_WATCH]?: Emitter;
}

/**
 * Nest's HTTP layer awaits the interceptor's last value and never unsubscribes when the client goes
 * away, so the call listens for the raw response's `close` itself (`reply.raw` on Fastify). One
 * shared listener, reading the call from the response, keeps the hot path free of closures.
 *
 * A pipelined request queued behind another has no socket yet, and its response's `close` never
 * fires if the client leaves before its turn: such a response is also watched through its socket,
 * with one listener per socket, removed when the last queued response closes (so that a keep-alive
 * socket collects no listeners).
 */
function watchClient(call: RouteCall, response: unknown, request: unknown): void {
  const raw = ((response as { raw?: unknown } | undefined)?.raw ?? response) as WatchedResponse | undefined;
  if (raw === undefined || raw === null || typeof raw.on !== 'function') return;
  raw[ROUTE_CALL] = call;
  (raw.on as (event: string, listener: () => void) => void).call(raw, 'close', onResponseClose);
  if (raw.socket === null) watchQueued(raw, request);
}

function watchQueued(raw: WatchedResponse, request: unknown): void {
  const req = request as { raw?: { socket?: unknown }; socket?: unknown } | undefined;
  const socket = (req?.raw?.socket ?? req?.socket) as Partial<Emitter> | null | undefined;
  if (
    socket === undefined ||
    socket === null ||
    typeof socket.on !== 'function' ||
    typeof socket.removeListener !== 'function'
  ) {
    return;
  }
  let queued = socket[QUEUED];
  if (queued === undefined) {
    queued = socket[QUEUED] = new Set();
    socket.on('close', onQueuedSocketClose);
  }
  queued.add(raw);
  raw[SOCKET_WATCH] = socket as Emitter;
}

/** The client left with responses still queued: each unfinished one is abandoned. */
function onQueuedSocketClose(this: Emitter): void {
  const queued = this[QUEUED];
  this[QUEUED] = undefined;
  this.removeListener('close', onQueuedSocketClose);
  for (const raw of queued ?? []) {
    raw[SOCKET_WATCH] = undefined;
    const call = raw[ROUTE_CALL];
    if (call !== undefined && !call.settled && raw.writableFinished !== true) call.unsubscribe();
  }
}

/** `close` fires after every response; only one that closed unfinished means the client left. */
function onResponseClose(this: WatchedResponse): void {
  const socket = this[SOCKET_WATCH];
  if (socket !== undefined) {
    this[SOCKET_WATCH] = undefined;
    const queued = socket[QUEUED];
    if (queued !== undefined && queued.delete(this) && queued.size === 0) {
      socket[QUEUED] = undefined;
      socket.removeListener('close', onQueuedSocketClose);
    }
  }
  const call = this[ROUTE_CALL];
  if (call !== undefined && !call.settled && this.writableFinished !== true) call.unsubscribe();
}

/** The circuit's own timeout aborts the attempt too, and counts as the route's timeout. */
function linkCircuitSignal(signal: AbortSignal, scope: AbortScope, route: ResilienceRoute): void {
  signal.addEventListener(
    'abort',
    () => {
      if (isTimeoutError(signal.reason)) {
        markOwnTimeout(signal.reason);
        route.metrics.timeouts++;
      }
      scope.abort(signal.reason);
    },
    { once: true },
  );
}

/** Past the route's circuit, the handler's own 4xx is the plain error again. */
function unwrapCallersOwn(error: unknown): never {
  throw isCallersOwnRejection(error) ? error.error : error;
}
