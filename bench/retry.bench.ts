/**
 * The first-try-success path: what a retry wrapper costs when nothing fails (the common case),
 * against a bare `await fn()`, p-retry and cockatiel, side by side in one run.
 */
import { handleAll, retry as cockatielRetry } from 'cockatiel';
import { systemClock } from '../src/core/common/clock';
import { createRetryPolicy, retry } from '../src/core/retry/retry';
import { RetryService } from '../src/retry/retry.service';
import { BenchResult, measure, printTable, withRatios } from './harness';

/** Keeps the spread of the reference row alive, so that the compiler cannot drop it. */
let sink: unknown;
// ts-node compiles `import()` to `require()` under CommonJS, which cannot load ESM-only p-retry.
const importEsm = new Function('s', 'return import(s)') as (specifier: string) => Promise<any>;

export async function run(): Promise<void> {
  const { default: pRetry } = (await importEsm('p-retry')) as {
    default: (fn: () => Promise<number>, options: { retries: number }) => Promise<number>;
  };
  const fn = async (): Promise<number> => 42;
  const service = new RetryService();
  const { HTTP } = RetryService.PresetConfigs;
  const ANTHROPIC = Object.freeze({ ...HTTP, name: 'anthropic' });
  const policy = createRetryPolicy({ maxAttempts: 3, budget: false });
  const cockatiel = cockatielRetry(handleAll, { maxAttempts: 2 });

  const cases: Array<[string, () => Promise<unknown>, string?]> = [
    ['bare await fn()', () => fn()],
    ['RetryService.executeWithRetry(fn)', () => service.executeWithRetry(fn), 'module defaults, budget on'],
    [
      'executeWithRetry(fn, PresetConfigs.HTTP)',
      () => service.executeWithRetry(fn, HTTP),
      'preset: pre-normalised',
    ],
    [
      "executeWithRetry(fn, { name: 'bench' })",
      () => service.executeWithRetry(fn, { name: 'bench' }),
      'per-call object, merged each call',
    ],
    [
      'executeWithRetry(fn, ANTHROPIC)',
      () => service.executeWithRetry(fn, ANTHROPIC),
      "const ANTHROPIC = Object.freeze({ ...HTTP, name: 'anthropic' }): merged once",
    ],
    [
      "executeWithRetry(fn, { ...HTTP, name: 'anthropic' })",
      () => service.executeWithRetry(fn, { ...HTTP, name: 'anthropic' }),
      'spread preset in the call: the spread itself is most of it',
    ],
    [
      "bare, after the same { ...HTTP, name: 'anthropic' }",
      () => {
        sink = { ...HTTP, name: 'anthropic' };
        return fn();
      },
      'what the spread alone costs, for the row above',
    ],
    ['core retry(fn, policy, clock)', () => retry(fn, policy, systemClock), 'framework-free, no metrics'],
    ['cockatiel retry(handleAll, { maxAttempts: 2 })', () => cockatiel.execute(fn), 'cockatiel 4'],
    ['p-retry pRetry(fn, { retries: 2 })', () => pRetry(fn, { retries: 2 }), 'p-retry 9'],
  ];
  // The machine may be shared: interleave the cases over many short passes and keep each one's
  // best median. Noise from other processes only ever adds time, so the minimum is the fairest figure.
  const best = new Map<string, number>();
  for (let pass = 0; pass < 10; pass++) {
    for (const [name, op] of cases) {
      const slow = name.startsWith('p-retry');
      const ns = await measure(op, { iterations: slow ? 5_000 : 50_000, rounds: 3 });
      best.set(name, Math.min(best.get(name) ?? Infinity, ns));
    }
  }
  const rows: BenchResult[] = cases.map(([name, , note]) => ({ name, nsPerOp: best.get(name)!, note }));
  if (sink === undefined) console.log('(unreachable)');
  printTable('Retry: first-try success (ns per call, lower is better)', withRatios(rows, 'bare await fn()'));
}
