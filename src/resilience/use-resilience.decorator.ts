import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { RESILIENCE_OPTIONS_METADATA } from './resilience.constants.js';
import { ResilienceInterceptor } from './resilience.interceptor.js';
import type { ResilienceOptions } from './resilience.options.js';

/**
 * Puts a route, or every route of a controller, behind a fallback, a total timeout, retries, a
 * circuit breaker and an attempt timeout. The decorator alone is enough: it attaches
 * `ResilienceInterceptor` itself, so routes without it have no interceptor at all (an interceptor
 * costs every request it sees, whether or not it acts). Options are validated at bootstrap, which
 * fails naming the route.
 *
 * ```ts
 * @Get(':id')
 * @UseResilience({ timeoutMs: 2_000, retry: 'FAST', fallbackResponse: { items: [] } })
 * find(@Param('id') id: string, @ResilienceSignal() signal: AbortSignal) {
 *   return this.http.get(`/users/${id}`, { signal });
 * }
 * ```
 * @publicApi
 */
export function UseResilience(options: ResilienceOptions = {}): ClassDecorator & MethodDecorator {
  return applyDecorators(
    SetMetadata(RESILIENCE_OPTIONS_METADATA, options),
    UseInterceptors(ResilienceInterceptor),
  );
}
