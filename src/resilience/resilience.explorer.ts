import { Inject, Injectable, Logger, OnModuleInit, Optional, RequestMethod, Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModulesContainer } from '@nestjs/core';
import { resolveCircuitOptions } from '../circuit-breaker/circuit-options.resolver.js';
import { ReliabilityConfig } from '../config/reliability-config.js';
import { DEFAULT_CIRCUIT_SETTINGS } from '../core/circuit-breaker/settings.js';
import { ConfigIssue, ReliabilityConfigError } from '../core/common/errors.js';
import { isRetryableError } from '../core/classification/retry-classification.js';
import { RELIABILITY_CONFIG, RELIABILITY_MODULE_OPTIONS } from '../reliability.tokens.js';
import type { ReliabilityModuleOptions } from '../reliability-options.interface.js';
import type { RetryConfig } from '../retry/retry.options.js';
import { RetryService } from '../retry/retry.service.js';
import {
  NEST_METADATA,
  NEST_PARAM_NEXT,
  NEST_PARAM_RESPONSE,
  RESILIENCE_OPTIONS_METADATA,
} from './resilience.constants.js';
import { DEFAULT_FALLBACK_HEADER, type ResilienceOptions } from './resilience.options.js';
import {
  mergeResilienceOptions,
  validateResilienceModuleOptions,
  validateResilienceOptions,
} from './resilience-options.validation.js';
import { ResilienceRegistry } from './resilience.registry.js';
import type { ResilienceRoute, RetryScope } from './resilience-route.js';
import { isUnretryable } from './resilience-errors.js';

const IDEMPOTENT = new Set<RequestMethod>([
  RequestMethod.GET,
  RequestMethod.HEAD,
  RequestMethod.OPTIONS,
  RequestMethod.PUT,
  RequestMethod.DELETE,
]);

/**
 * Routes sharing a circuit name share one circuit, created by whichever runs first: each gets the
 * largest of their timeouts (0, no timeout, is the largest), so that no route's slow but healthy
 * probe is taken for a stuck one because of another route's shorter timeout.
 */
function shareExternalTimeouts(routes: ResilienceRoute[]): void {
  const largest = new Map<string, number>();
  for (const route of routes) {
    if (!route.breaker) continue;
    const own = route.circuitOptions.externalTimeout ?? 0;
    const seen = largest.get(route.name);
    // The largest bound: a route without one must not shorten the others' probes to resetTimeout.
    largest.set(route.name, Math.max(seen ?? 0, own));
  }
  for (const route of routes) {
    const shared = largest.get(route.name);
    if (route.breaker && shared !== route.circuitOptions.externalTimeout) {
      (route as { circuitOptions: ResilienceRoute['circuitOptions'] }).circuitOptions = {
        ...route.circuitOptions,
        externalTimeout: shared,
      };
    }
  }
}

/**
 * Finds every route under `@UseResilience()` once, at bootstrap: merges the class's and the
 * method's options, validates them (a bad value stops boot, naming `Controller.method` and the
 * field), resolves presets and defaults, and hands the result to the registry the interceptor reads.
 */
@Injectable()
export class ResilienceExplorer implements OnModuleInit {
  private readonly logger = new Logger('Resilience');
  private readonly discovery: DiscoveryService;
  private readonly scanner = new MetadataScanner();

  constructor(
    modules: ModulesContainer,
    private readonly registry: ResilienceRegistry,
    private readonly retries: RetryService,
    @Inject(RELIABILITY_CONFIG) private readonly config: ReliabilityConfig,
    @Optional() @Inject(RELIABILITY_MODULE_OPTIONS) private readonly options?: ReliabilityModuleOptions,
  ) {
    // Built here rather than injected, so that ReliabilityModule need not import DiscoveryModule.
    this.discovery = new DiscoveryService(modules);
  }

  onModuleInit(): void {
    this.explore();
  }

  /** Registers every protected route; throws one ReliabilityConfigError listing every bad option. */
  explore(): ResilienceRoute[] {
    const issues: ConfigIssue[] = validateResilienceModuleOptions(this.options?.resilience);
    const routes: ResilienceRoute[] = [];
    const seen = new Set<object>();
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as Type | null;
      if (typeof controller !== 'function' || seen.has(controller)) continue;
      seen.add(controller);
      const classOptions = Reflect.getMetadata(RESILIENCE_OPTIONS_METADATA, controller) as
        ResilienceOptions | undefined;
      for (const method of this.scanner.getAllMethodNames(controller.prototype)) {
        const handler = controller.prototype[method] as object;
        if (Reflect.getMetadata(NEST_METADATA.path, handler) === undefined) continue;
        const methodOptions = Reflect.getMetadata(RESILIENCE_OPTIONS_METADATA, handler) as
          ResilienceOptions | undefined;
        if (classOptions === undefined && methodOptions === undefined) continue;
        const id = `${controller.name}.${method}`;
        if (this.isStreaming(controller, method, handler)) {
          this.logger.warn(
            `${id} streams its response (@Sse(), or @Res() / @Next() without passthrough): ` +
              `@UseResilience is not applied to it, since a response already on the wire cannot be retried or replaced.`,
          );
          continue;
        }
        // Validated after merging: a method may complete what its class started (and vice versa).
        const options = mergeResilienceOptions(classOptions, methodOptions);
        const found = validateResilienceOptions(options, id, this.retries.retryNames());
        if (options.circuit !== undefined && found.length === 0) {
          resolveCircuitOptions(
            `${id} @UseResilience.circuit`,
            options.circuit,
            DEFAULT_CIRCUIT_SETTINGS,
            found,
          );
        }
        if (found.length > 0) {
          issues.push(...found);
          continue;
        }
        const route = this.resolve(id, handler, options);
        this.registry.add(handler, controller, route);
        routes.push(route);
      }
    }
    if (issues.length > 0) throw new ReliabilityConfigError(issues);
    shareExternalTimeouts(routes);
    return routes;
  }

  private resolve(id: string, handler: object, o: ResilienceOptions): ResilienceRoute {
    const name = o.circuitName ?? id;
    const breaker = o.enableCircuitBreaker ?? true;
    const fallbackOn = o.enableFallback ?? (o.fallback !== undefined || o.fallbackResponse !== undefined);
    const fallbackResponse = o.fallbackResponse;
    const retryScope = this.retryScope(id, handler, o);
    // forRoot({ circuits }) wins over execute()'s options field by field, so a `timeout` set there
    // stays the circuit's own: the breaker then times the attempt and its signal is linked in.
    const forRootTimeout = this.options?.circuits?.[name]?.timeout;
    const circuitTimes = breaker && forRootTimeout !== undefined && Number(forRootTimeout) > 0;
    const defaultTimeout =
      !breaker || forRootTimeout !== undefined
        ? 0
        : (o.circuit?.timeout ?? this.config.circuitBreaker.timeout);
    const timeoutMs = o.timeoutMs ?? defaultTimeout;
    const totalTimeoutMs = o.totalTimeoutMs ?? 0;
    return {
      id,
      name,
      breaker,
      // Otherwise the attempt timeout sits inside the breaker and is enforced here, with a lazily
      // created signal: the circuit's own timer would add an AbortController per call.
      // The circuit still needs that timeout to tell a stuck probe from a slow one.
      circuitOptions: {
        ...o.circuit,
        timeout: 0,
        externalTimeout: timeoutMs > 0 ? timeoutMs : totalTimeoutMs,
      },
      circuitTimes,
      retry: retryScope === 'never' ? undefined : this.retryConfig(o, name),
      retryScope,
      timeoutMs,
      totalTimeoutMs,
      fallback: fallbackOn ? (o.fallback ?? (() => fallbackResponse)) : undefined,
      fallbackIf: fallbackOn ? o.fallbackIf : undefined,
      fallbackStatus: o.fallbackStatus ?? 200,
      fallbackHeader: this.fallbackHeader(o) || undefined,
      metrics: this.registry.metricsFor(name, id),
      streamWarned: false,
    };
  }

  private fallbackHeader(o: ResilienceOptions): string | false {
    return o.fallbackHeader ?? this.options?.resilience?.fallbackHeader ?? DEFAULT_FALLBACK_HEADER;
  }

  private retryConfig(o: ResilienceOptions, name: string): RetryConfig {
    // A name (validated above) is a preset's or one of forRoot({ retries }).
    const base: RetryConfig =
      typeof o.retry === 'string' ? (this.retries.retryConfigOf(o.retry) ?? {}) : (o.retry ?? {});
    const retryIf = base.retryIf ?? isRetryableError;
    const config: RetryConfig = {
      ...base,
      name: base.name ?? name,
      // A response already (partly) sent cannot be sent again, whatever the error says.
      retryIf: (error, attempt) => !isUnretryable(error) && retryIf(error, attempt),
    };
    // Merged over the module's RETRY_* defaults once, here, by RetryService's own normalisation:
    // a ready policy is used as is, where a plain config would be merged again on every request.
    const normalise = (this.retries as unknown as { policyOf?: (c: RetryConfig) => RetryConfig }).policyOf;
    return typeof normalise === 'function' ? normalise.call(this.retries, config) : config;
  }

  private retryScope(id: string, handler: object, o: ResilienceOptions): RetryScope {
    if (!(o.enableRetry ?? o.retry !== undefined)) return 'never';
    if (o.retryNonIdempotent === true) return 'always';
    const method =
      (Reflect.getMetadata(NEST_METADATA.method, handler) as RequestMethod | undefined) ?? RequestMethod.GET;
    if (IDEMPOTENT.has(method)) return 'always';
    if (method === RequestMethod.ALL) return 'idempotent-requests';
    this.logger.warn(
      `${id} is a ${RequestMethod[method]} route and asks for retries: they are off, because a retried ` +
        `${RequestMethod[method]} may run twice. Set retryNonIdempotent: true if the handler is idempotent.`,
    );
    return 'never';
  }

  /** `@Sse()`, or `@Res()` / `@Next()` without `passthrough`: the handler writes the response itself. */
  private isStreaming(controller: Type, method: string, handler: object): boolean {
    if (Reflect.getMetadata(NEST_METADATA.sse, handler)) return true;
    const args = (Reflect.getMetadata(NEST_METADATA.routeArgs, controller, method) ?? {}) as Record<
      string,
      unknown
    >;
    const manual = Object.keys(args).some((key) => {
      const type = Number(key.split(':')[0]);
      return type === NEST_PARAM_RESPONSE || type === NEST_PARAM_NEXT;
    });
    return manual && !Reflect.getMetadata(NEST_METADATA.responsePassthrough, controller, method);
  }
}
