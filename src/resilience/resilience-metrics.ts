import { LatencyHistogram, LatencySummary } from '../core/common/latency-histogram.js';

/**
 * Counters of one circuit name (by default one route), since the app started. Every request
 * ends as exactly one of `successes`, `failures`, `clientErrors` or `abandoned`.
 * @publicApi
 */
export interface RouteResilienceMetrics {
  /** The circuit / metrics name. */
  name: string;
  /** The routes (`Controller.method`) using this name. */
  routes: string[];
  /** Requests that went through the pipeline. */
  requests: number;
  /** Requests answered by the handler. */
  successes: number;
  /** Requests that failed: error, timeout or open circuit, whether or not a fallback was served. */
  failures: number;
  /** Requests whose handler threw its own `HttpException` 4xx (validation errors included). */
  clientErrors: number;
  /**
   * Requests whose client went away before the answer: the attempt in flight was aborted, not
   * counted by the circuit, and neither a fallback nor a retry followed.
   */
  abandoned: number;
  /** Requests answered by the fallback: failures, and the client errors that `fallbackIf` served. */
  fallbacks: number;
  /** Attempt timeouts (`timeoutMs`) and total timeouts (`totalTimeoutMs`) that fired. */
  timeouts: number;
  /** Handler calls beyond the first, over all requests. */
  retries: number;
  /**
   * Requests refused by an open (or saturated half-open) circuit: the route's own, or one that the
   * handler called (a `CircuitOpenError` from a service's circuit). Each circuit's own rejections
   * are in `CircuitBreakerService.getCircuitMetrics(name)`.
   */
  circuitRejections: number;
  /** Latency of the whole request, retries included and the fallback excluded, in ms. */
  latency: LatencySummary;
}

/** The mutable counters behind {@link RouteResilienceMetrics}: bounded memory whatever the traffic. */
export class RouteMetricsRecord {
  requests = 0;
  successes = 0;
  failures = 0;
  clientErrors = 0;
  abandoned = 0;
  fallbacks = 0;
  timeouts = 0;
  retries = 0;
  circuitRejections = 0;
  readonly latency = new LatencyHistogram();
  readonly routes: string[] = [];

  constructor(readonly name: string) {}

  snapshot(): RouteResilienceMetrics {
    return {
      name: this.name,
      routes: [...this.routes],
      requests: this.requests,
      successes: this.successes,
      failures: this.failures,
      clientErrors: this.clientErrors,
      abandoned: this.abandoned,
      fallbacks: this.fallbacks,
      timeouts: this.timeouts,
      retries: this.retries,
      circuitRejections: this.circuitRejections,
      latency: this.latency.summary(),
    };
  }

  reset(): void {
    this.requests = this.successes = this.failures = this.clientErrors = this.abandoned = 0;
    this.fallbacks = this.timeouts = this.retries = this.circuitRejections = 0;
    this.latency.reset();
  }
}
