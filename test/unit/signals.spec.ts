/**
 * The recipes of docs/signals.md, run as written against the real RetryService and
 * CircuitBreakerService (a Nest testing module, time on a FakeClock):
 * - which signal each layer passes, and AbortSignal.any combining them;
 * - a streamed completion retried only before its first token.
 */
import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  CircuitBreakerService,
  FakeClock,
  RELIABILITY_CLOCK,
  ReliabilityModule,
  RetryService,
  getRetryAttempts,
  isRetryableHttpError,
  isTimeoutError,
} from '../../src';
import { flushMicrotasks } from '../../src/core/common/clock';
import { anthropicError } from '../support/retry-error-shapes';

let app: INestApplicationContext | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function boot(llmTimeout: number) {
  const clock = new FakeClock();
  const moduleRef = await Test.createTestingModule({
    imports: [ReliabilityModule.forRoot({ circuits: { llm: { timeout: llmTimeout } } })],
  })
    .overrideProvider(RELIABILITY_CLOCK)
    .useValue(clock)
    .compile();
  app = await moduleRef.init();
  return { clock, retry: app.get(RetryService), breaker: app.get(CircuitBreakerService) };
}

/** Settles like fetch: rejects with `signal.reason` when the signal aborts, else never. */
function hangingUpstream(signal: AbortSignal, seen: AbortSignal[]): Promise<string> {
  seen.push(signal);
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** The docs' first recipe: one call, its signal following every layer. */
function complete(
  retry: RetryService,
  breaker: CircuitBreakerService,
  seen: AbortSignal[],
  requestSignal?: AbortSignal,
): Promise<string> {
  return retry.executeWithRetry(
    (_attempt, attemptSignal) =>
      breaker.execute('llm', (breakerSignal) =>
        hangingUpstream(AbortSignal.any([attemptSignal, breakerSignal]), seen),
      ),
    { ...RetryService.PresetConfigs.HTTP, maxAttempts: 1, attemptTimeout: 200, signal: requestSignal },
  );
}

describe('signals: each layer passes its own; AbortSignal.any combines them', () => {
  it("the retry's attempt timeout aborts the call (the breaker's signal alone would not)", async () => {
    const { clock, retry, breaker } = await boot(1_000);
    const seen: AbortSignal[] = [];
    let breakerSignal: AbortSignal | undefined;
    const alone = retry.executeWithRetry(
      () => breaker.execute('llm', (signal) => ((breakerSignal = signal), hangingUpstream(signal, []))),
      { maxAttempts: 1, attemptTimeout: 200 },
    );
    const combined = complete(retry, breaker, seen);
    const results = Promise.allSettled([alone, combined]);
    await clock.advance(200);
    // Both calls reject at 200 ms, but only the combined signal told the upstream to stop.
    expect(breakerSignal!.aborted).toBe(false);
    expect(seen[0].aborted).toBe(true);
    expect(isTimeoutError(seen[0].reason)).toBe(true);
    expect(seen[0].reason.timeoutMs).toBe(200);
    const [a, b] = await results;
    expect(a.status === 'rejected' && isTimeoutError(a.reason)).toBe(true);
    expect(b.status === 'rejected' && b.reason).toBe(seen[0].reason);
    await clock.advance(800); // the breaker's own deadline of the first call, then nothing is left
    expect(breakerSignal!.aborted).toBe(true);
  });

  it("the circuit's timeout aborts the call when it is the shorter", async () => {
    const { clock, retry, breaker } = await boot(100);
    const seen: AbortSignal[] = [];
    const call = complete(retry, breaker, seen).catch((e: unknown) => e);
    await clock.advance(100);
    expect(seen[0].aborted).toBe(true);
    expect(seen[0].reason).toMatchObject({ name: 'TimeoutError', timeoutMs: 100 });
    expect(isTimeoutError(await call)).toBe(true);
  });

  it("the caller's signal (e.g. @ResilienceSignal()) given as the retry's `signal` aborts the call and ends the loop", async () => {
    const { clock, retry, breaker } = await boot(1_000);
    const seen: AbortSignal[] = [];
    const request = new AbortController();
    const call = complete(retry, breaker, seen, request.signal).catch((e: unknown) => e);
    await clock.advance(50);
    const reason = new DOMException('The request was abandoned', 'AbortError');
    request.abort(reason);
    expect(seen[0].aborted).toBe(true);
    expect(seen[0].reason).toBe(reason);
    expect(await call).toBe(reason);
    expect(seen).toHaveLength(1);
  });
});

/** A token stream that honours its signal, failing with `error` after `failAfter` tokens. */
async function* tokens(
  clock: FakeClock,
  signal: AbortSignal,
  script: { tokens: string[]; failAfter?: number; error?: unknown },
): AsyncGenerator<string> {
  for (let i = 0; i < script.tokens.length; i++) {
    if (i === script.failAfter) throw script.error;
    await clock.sleep(10, signal);
    yield script.tokens[i];
  }
  if (script.failAfter === script.tokens.length) throw script.error;
}

/** The docs' second recipe: retry a streamed completion only until its first token. */
function streamCompletion(
  retry: RetryService,
  breaker: CircuitBreakerService,
  open: (attempt: number, signal: AbortSignal) => AsyncIterable<string>,
  onToken: (token: string) => void,
): Promise<string> {
  let streaming = false;
  return retry.executeWithRetry(
    (attempt, attemptSignal) =>
      breaker.execute('llm', async (breakerSignal) => {
        let text = '';
        for await (const token of open(attempt, AbortSignal.any([attemptSignal, breakerSignal]))) {
          streaming = true;
          onToken(token);
          text += token;
        }
        return text;
      }),
    {
      ...RetryService.PresetConfigs.HTTP,
      jitter: 'none',
      retryIf: (e) => !streaming && isRetryableHttpError(e),
    },
  );
}

describe('streamed responses: retried before the first token, never after', () => {
  it('an overload before the first token is retried; the client sees each token once', async () => {
    const { clock, retry, breaker } = await boot(60_000);
    const sent: string[] = [];
    const overloaded = anthropicError(529, 'overloaded_error');
    const call = streamCompletion(
      retry,
      breaker,
      (attempt, signal) =>
        tokens(clock, signal, {
          tokens: ['Hel', 'lo'],
          ...(attempt === 1 ? { failAfter: 0, error: overloaded } : {}),
        }),
      (t) => sent.push(t),
    );
    await flushMicrotasks();
    await clock.advance(500 + 20); // the HTTP preset's first backoff, then two tokens
    expect(await call).toBe('Hello');
    expect(sent).toEqual(['Hel', 'lo']);
    expect(retry.getRetryMetrics('default')).toMatchObject({ attempts: 2, successesAfterRetry: 1 });
  });

  it('a failure after the first token is not retried, and still counts as a failure of the circuit', async () => {
    const { clock, retry, breaker } = await boot(60_000);
    const sent: string[] = [];
    const broken = anthropicError(500, 'api_error');
    let opened = 0;
    const call = streamCompletion(
      retry,
      breaker,
      (_attempt, signal) => (
        opened++,
        tokens(clock, signal, { tokens: ['Hel', 'lo'], failAfter: 1, error: broken })
      ),
      (t) => sent.push(t),
    ).catch((e: unknown) => e);
    await clock.advance(10);
    const error = await call;
    expect(error).toBe(broken);
    expect(getRetryAttempts(error)).toBe(1);
    expect(opened).toBe(1);
    expect(sent).toEqual(['Hel']);
    expect(breaker.getCircuitMetrics('llm')).toMatchObject({ failures: 1 });
  });

  it('marking the error `retryable: false` also stops the retry, but the circuit then ignores it', async () => {
    const { clock, retry, breaker } = await boot(60_000);
    const broken = Object.assign(anthropicError(500, 'api_error'), { retryable: false });
    const call = retry
      .executeWithRetry(
        (_attempt, attemptSignal) =>
          breaker.execute('llm', async (breakerSignal) => {
            const signal = AbortSignal.any([attemptSignal, breakerSignal]);
            for await (const token of tokens(clock, signal, {
              tokens: ['a', 'b'],
              failAfter: 1,
              error: broken,
            })) {
              void token;
            }
          }),
        RetryService.PresetConfigs.HTTP,
      )
      .catch((e: unknown) => e);
    await clock.advance(10);
    expect(getRetryAttempts(await call)).toBe(1);
    expect(breaker.getCircuitMetrics('llm')).toMatchObject({ failures: 0 });
  });
});
