import { Inject, Injectable } from '@nestjs/common';
import { CircuitBreakerService, RetryService } from '../../src';

export const LLM_URL = Symbol('LLM_URL');

/** An HTTP error shaped like the provider SDKs' (`status`, `headers`), so the HTTP preset reads it. */
class ProviderError extends Error {
  constructor(
    readonly status: number,
    readonly headers: Headers,
  ) {
    super(`LLM provider answered ${status}`);
  }
}

/**
 * Calls the (fake) LLM provider the way an agent should: retries with the HTTP preset, which honours
 * `Retry-After`, inside a circuit breaker named `llm`, with each attempt's signal passed to fetch.
 */
@Injectable()
export class LlmClient {
  constructor(
    @Inject(LLM_URL) private readonly url: string,
    private readonly breaker: CircuitBreakerService,
    private readonly retry: RetryService,
  ) {}

  summarize(text: string): Promise<string> {
    return this.retry.executeWithRetry(
      () =>
        this.breaker.execute('llm', async (signal) => {
          const res = await fetch(`${this.url}/v1/messages`, { method: 'POST', body: text, signal });
          if (!res.ok) throw new ProviderError(res.status, res.headers);
          const body = (await res.json()) as { content: { text: string }[] };
          return body.content[0].text;
        }),
      { ...RetryService.PresetConfigs.HTTP, name: 'llm', maxAttempts: 4, baseDelay: 50, maxDelay: 2_000 },
    );
  }
}
