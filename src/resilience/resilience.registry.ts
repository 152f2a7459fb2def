import { Injectable } from '@nestjs/common';
import { RouteMetricsRecord, RouteResilienceMetrics } from './resilience-metrics.js';
import type { ResilienceRoute } from './resilience-route.js';

/**
 * The routes resolved at bootstrap, looked up by handler and class, and their metrics by name.
 * A route without `@UseResilience()` costs one WeakMap miss per request.
 */
@Injectable()
export class ResilienceRegistry {
  // Keyed by handler first: an inherited handler may serve several controllers, each with its
  // own class-level options.
  private readonly routes = new WeakMap<object, Map<object, ResilienceRoute>>();
  private readonly metrics = new Map<string, RouteMetricsRecord>();

  /** The route of `handler` on controller `controller`, or `undefined` when it is not protected. */
  find(handler: object, controller: object): ResilienceRoute | undefined {
    const byClass = this.routes.get(handler);
    return byClass === undefined ? undefined : byClass.get(controller);
  }

  add(handler: object, controller: object, route: ResilienceRoute): void {
    let byClass = this.routes.get(handler);
    if (byClass === undefined) this.routes.set(handler, (byClass = new Map()));
    byClass.set(controller, route);
  }

  /** The metrics record of `name`, created on first use and shared by the routes of one name. */
  metricsFor(name: string, routeId: string): RouteMetricsRecord {
    let record = this.metrics.get(name);
    if (record === undefined) this.metrics.set(name, (record = new RouteMetricsRecord(name)));
    if (!record.routes.includes(routeId)) record.routes.push(routeId);
    return record;
  }

  snapshot(name: string): RouteResilienceMetrics | undefined {
    return this.metrics.get(name)?.snapshot();
  }

  snapshotAll(): Record<string, RouteResilienceMetrics> {
    const out: Record<string, RouteResilienceMetrics> = {};
    for (const [name, record] of this.metrics) out[name] = record.snapshot();
    return out;
  }

  reset(name?: string): void {
    if (name === undefined) for (const record of this.metrics.values()) record.reset();
    else this.metrics.get(name)?.reset();
  }
}
