/**
 * docs/signals.md on a real Nest HTTP app: a route's @ResilienceSignal() handed to a service
 * that calls through RetryService and CircuitBreakerService, and AbortSignal.any combining the
 * three signals, so that the upstream call stops when the route gives up.
 */
import 'reflect-metadata';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import {
  CircuitBreakerService,
  ResilienceSignal,
  RetryService,
  UseResilience,
  isTimeoutError,
} from '../../src';
import { RESILIENCE_ADAPTERS, StartedApp, startResilienceApp } from '../support/resilience-app';

/** The upstream's view of each call: the signal it was given. */
const seen: AbortSignal[] = [];

/** Settles like fetch: rejects with `signal.reason` when the signal aborts, else never. */
function hangingUpstream(signal: AbortSignal): Promise<string> {
  seen.push(signal);
  return new Promise((_, reject) =>
    signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
  );
}

@Injectable()
class LlmClient {
  constructor(
    private readonly retry: RetryService,
    private readonly breaker: CircuitBreakerService,
  ) {}

  complete(requestSignal: AbortSignal): Promise<string> {
    return this.retry.executeWithRetry(
      (_attempt, attemptSignal) =>
        this.breaker.execute('llm', (breakerSignal) =>
          hangingUpstream(AbortSignal.any([attemptSignal, breakerSignal])),
        ),
      { ...RetryService.PresetConfigs.HTTP, attemptTimeout: 5_000, signal: requestSignal },
    );
  }
}

@Module({ providers: [LlmClient], exports: [LlmClient] })
class LlmModule {}

@Controller('chat')
class ChatController {
  constructor(private readonly llm: LlmClient) {}

  @Get()
  @UseResilience({ timeoutMs: 100, enableCircuitBreaker: false })
  chat(@ResilienceSignal() signal: AbortSignal): Promise<string> {
    return this.llm.complete(signal);
  }
}

describe.each(RESILIENCE_ADAPTERS)('signals through every layer (%s)', (adapter) => {
  let started: StartedApp | undefined;
  beforeEach(() => (seen.length = 0));
  afterEach(async () => {
    await started?.app.close();
    started = undefined;
  });

  it("the route's timeout aborts the upstream call made through retry and breaker", async () => {
    started = await startResilienceApp(
      adapter,
      [ChatController],
      { circuits: { llm: { timeout: 10_000 } } },
      [LlmModule],
    );
    const t0 = Date.now();
    const res = await fetch(`${started.url}/chat`, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(504);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(seen).toHaveLength(1);
    expect(seen[0].aborted).toBe(true);
    expect(isTimeoutError(seen[0].reason)).toBe(true);
    expect(seen[0].reason.timeoutMs).toBe(100);
  });
});
