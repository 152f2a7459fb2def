import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { RESILIENCE_SCOPE, RESILIENCE_SIGNAL_PROPERTY } from './resilience.constants.js';
import type { AbortScope } from '../core/policy/abort-scope.js';

let never: AbortSignal | undefined;

/** A signal that never aborts, for requests outside any `@UseResilience()` route. */
function neverAborted(): AbortSignal {
  return (never ??= new AbortController().signal);
}

/**
 * The `AbortSignal` of the current attempt of `request`: aborted when the attempt times out
 * (`timeoutMs`) or the request's `totalTimeoutMs` passes. Outside a
 * `@UseResilience()` route it never aborts. Also readable as `request.resilienceSignal` (which is
 * `undefined` outside a protected route).
 * @publicApi
 */
export function resilienceSignalOf(request: object): AbortSignal {
  const scope = (request as Record<symbol, AbortScope | undefined>)[RESILIENCE_SCOPE];
  return scope === undefined ? neverAborted() : scope.signal;
}

const SIGNAL_PROPERTY: PropertyDescriptor = {
  configurable: true,
  enumerable: false,
  // `undefined` outside a protected route, exactly as without the library.
  get(this: Record<symbol, AbortScope | undefined>) {
    return this[RESILIENCE_SCOPE]?.signal;
  },
};

/** Request prototypes that already carry the `resilienceSignal` accessor. */
const prototypesWithAccessor = new WeakSet<object>();

/**
 * Makes `scope` the request's current attempt. `request.resilienceSignal` is an accessor defined
 * once on the request's prototype (Express's `app.request`, Fastify's `Request`), so that a request
 * costs one property write, not an `Object.defineProperty`; a plain-object request gets it on itself.
 */
export function bindAttemptScope(request: object, scope: AbortScope): void {
  const carrier = request as Record<symbol, AbortScope | undefined>;
  if (carrier[RESILIENCE_SCOPE] === undefined) defineAccessor(request);
  carrier[RESILIENCE_SCOPE] = scope;
}

function defineAccessor(request: object): void {
  const proto = Object.getPrototypeOf(request) as object | null;
  if (proto === null || proto === Object.prototype) {
    Object.defineProperty(request, RESILIENCE_SIGNAL_PROPERTY, SIGNAL_PROPERTY);
    return;
  }
  if (prototypesWithAccessor.has(proto)) return;
  prototypesWithAccessor.add(proto);
  // Never shadow a property the framework or the app defined.
  if (!(RESILIENCE_SIGNAL_PROPERTY in proto))
    Object.defineProperty(proto, RESILIENCE_SIGNAL_PROPERTY, SIGNAL_PROPERTY);
}

/**
 * Injects the current attempt's `AbortSignal` into a route handler. Pass it to downstream calls
 * (`fetch(url, { signal })`, SDKs, Prisma's `$transaction` timeout...) so that they stop when the
 * attempt times out. Each retry gets a fresh signal. The signal is created only when asked for.
 *
 * ```ts
 * @Get() @UseResilience({ timeoutMs: 1_000 })
 * list(@ResilienceSignal() signal: AbortSignal) { return fetch(UPSTREAM, { signal }).then((r) => r.json()); }
 * ```
 * @publicApi
 */
export const ResilienceSignal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AbortSignal =>
    resilienceSignalOf(context.switchToHttp().getRequest()),
);
