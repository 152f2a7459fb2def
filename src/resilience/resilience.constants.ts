/**
 * Metadata key of `@UseResilience()`. A registered string rather than a `Reflector.createDecorator`
 * uid, so that two copies of the package (ESM and CommonJS) read each other's metadata.
 */
export const RESILIENCE_OPTIONS_METADATA = 'nestjs-reliability:resilience';

/** Where the current attempt's scope is kept on the request. */
export const RESILIENCE_SCOPE = Symbol.for('nestjs-reliability.resilience-scope');

/** The request property that gives the current attempt's `AbortSignal`. @publicApi */
export const RESILIENCE_SIGNAL_PROPERTY = 'resilienceSignal';

/**
 * Nest's own metadata keys and param types (`@nestjs/common/constants`, `RouteParamtypes`), copied
 * because deep imports are not part of Nest's public entry points. They are stable since Nest 6.
 */
export const NEST_METADATA = {
  path: 'path',
  method: 'method',
  routeArgs: '__routeArguments__',
  sse: '__sse__',
  responsePassthrough: '__responsePassthrough__',
} as const;
export const NEST_PARAM_RESPONSE = 1;
export const NEST_PARAM_NEXT = 2;
