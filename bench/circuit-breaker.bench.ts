/**
 * CircuitBreakerService against a bare `await fn()`, opossum 10 and cockatiel 4, side by side in
 * one run: the success path, the open-circuit rejection path, heap bytes per circuit with 10,000
 * named circuits, and what those 10,000 circuits cost while idle (timers, CPU).
 *
 * The cases are measured round-robin, 9 rounds of each. The best round is reported (the median in
 * the note): on a shared machine the best round is the closest to the code's own cost, and
 * round-robin spreads the load from elsewhere over every case alike. Each case runs in a loop compiled for it alone, so its `await op()`
 * site stays monomorphic (one shared loop turns megamorphic after four cases, which adds the same
 * ~50 ns to every case and flatters every ratio). Calls that take an AbortSignal leave a lot of
 * garbage, so they have a table of their own, and a full GC runs before each table (not before
 * each round: a forced full GC slows down the measurement that follows it).
 */
import {
  circuitBreaker,
  ConsecutiveBreaker,
  handleAll,
  SamplingBreaker,
  timeout as cockatielTimeout,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import OpossumBreaker from 'opossum';
import { CircuitBreakerService } from '../src/circuit-breaker/circuit-breaker.service';
import { resolveReliabilityConfig } from '../src/config/reliability-config';
import { performance } from 'node:perf_hooks';
import { BenchResult, printTable, withRatios } from './harness';

const CIRCUITS = 10_000;

function service(timeout: number): CircuitBreakerService {
  const config = resolveReliabilityConfig({ circuitBreaker: { timeout } }, () => undefined);
  return new CircuitBreakerService(config, {});
}

function gcFunction(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function settledHeap(gc: () => void): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(10);
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.external; // typed-array backing stores live outside the JS heap
}

/**
 * Counts live timers, `unref`'d ones included (`process.getActiveResourcesInfo()` lists only
 * those that keep the process alive), by wrapping the timer globals while a case builds and idles.
 */
function trackTimers(): { live(): number; restore(): void } {
  const g = globalThis as unknown as Record<string, (...args: any[]) => any>;
  const original = {
    setTimeout: g.setTimeout,
    clearTimeout: g.clearTimeout,
    setInterval: g.setInterval,
    clearInterval: g.clearInterval,
  };
  const live = new Set<unknown>();
  g.setTimeout = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const handle = original.setTimeout(
      (...a: unknown[]) => {
        live.delete(handle);
        fn(...a);
      },
      ms,
      ...args,
    );
    live.add(handle);
    return handle;
  };
  g.clearTimeout = (handle: unknown) => {
    live.delete(handle);
    original.clearTimeout(handle);
  };
  g.setInterval = (...args: unknown[]) => {
    const handle = original.setInterval(...args);
    live.add(handle);
    return handle;
  };
  g.clearInterval = (handle: unknown) => {
    live.delete(handle);
    original.clearInterval(handle);
  };
  return { live: () => live.size, restore: () => Object.assign(g, original) };
}

async function idleCpuPercent(ms: number): Promise<number> {
  const start = process.cpuUsage();
  await sleep(ms);
  const used = process.cpuUsage(start);
  return ((used.user + used.system) / 1000 / ms) * 100;
}

type Case = [name: string, op: () => unknown, note?: string, iterations?: number];

type Loop = (op: () => unknown, iterations: number) => Promise<number>;

/** A timing loop of its own (a new function, with its own inline caches), returning ns per op. */
function freshLoop(): Loop {
  return new Function(
    'now',
    `return async function loop(op, iterations) {
      const start = now();
      for (let i = 0; i < iterations; i++) await op();
      return ((now() - start) * 1e6) / iterations;
    };`,
  )(() => performance.now()) as Loop;
}

async function measureCases(cases: Case[], iterations: number): Promise<BenchResult[]> {
  gcFunction()();
  const loops = cases.map(() => freshLoop());
  const samples = cases.map((): number[] => []);
  for (let i = 0; i < cases.length; i++) await loops[i](cases[i][1], 20_000); // warm-up
  for (let round = 0; round < 9; round++) {
    for (let i = 0; i < cases.length; i++) {
      const [, op, , n] = cases[i];
      samples[i].push(await loops[i](op, n ?? iterations));
    }
  }
  return cases.map(([name, , note], i): BenchResult => {
    const sorted = samples[i].sort((x, y) => x - y);
    const median = `median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)}`;
    return { name, nsPerOp: sorted[0], note: note ? `${note}; ${median}` : median };
  });
}

async function successPath(): Promise<void> {
  const fn = async (): Promise<number> => 1;
  const withSignal = async (signal: AbortSignal): Promise<number> => (signal.aborted ? 0 : 1);
  const noTimeout = service(0);
  const withTimeout = service(60_000);
  const opossumNoTimeout = new OpossumBreaker(fn, { timeout: false });
  const opossumTimeout = new OpossumBreaker(fn, { timeout: 60_000 });
  const consecutive = circuitBreaker(handleAll, {
    halfOpenAfter: 30_000,
    breaker: new ConsecutiveBreaker(5),
  });
  const sampling = circuitBreaker(handleAll, {
    halfOpenAfter: 30_000,
    breaker: new SamplingBreaker({ threshold: 0.5, duration: 60_000 }),
  });
  const samplingTimeout = wrap(cockatielTimeout(60_000, TimeoutStrategy.Aggressive), sampling);

  const rows = await measureCases(
    [
      ['bare await fn()', () => fn()],
      ["execute('svc', fn), no timeout", () => noTimeout.execute('svc', fn), 'timeout: 0'],
      [
        "execute('svc', fn), default 60 s timeout",
        () => withTimeout.execute('svc', fn),
        'fn takes no signal',
      ],
      ['opossum 10 fire(), no timeout', () => opossumNoTimeout.fire(), 'timeout: false'],
      ['opossum 10 fire(), 60 s timeout', () => opossumTimeout.fire()],
      ['cockatiel 4 ConsecutiveBreaker', () => consecutive.execute(fn)],
      ['cockatiel 4 SamplingBreaker', () => sampling.execute(fn)],
    ],
    100_000,
  );
  printTable('Circuit breaker: success path (ns per awaited call)', withRatios(rows, 'bare await fn()'));

  // Creating an AbortSignal costs microseconds on Node 20 and leaves garbage that would slow the
  // cases measured after it, so the calls that get a signal have a table of their own.
  const signalRows = await measureCases(
    [
      ['bare await fn()', () => fn()],
      [
        "execute('svc', (signal) => ...), 60 s timeout",
        () => withTimeout.execute('sig', withSignal),
        'own AbortController per call',
      ],
      [
        'cockatiel 4 SamplingBreaker + 60 s timeout',
        () => samplingTimeout.execute(fn),
        'TimeoutStrategy.Aggressive: a signal per call',
      ],
    ],
    10_000,
  );
  printTable(
    'Circuit breaker: success path when fn takes the AbortSignal (ns per awaited call)',
    withRatios(signalRows, 'bare await fn()'),
  );
  opossumNoTimeout.shutdown();
  opossumTimeout.shutdown();
}

async function openPath(): Promise<void> {
  const fn = async (): Promise<number> => 1;
  const open = service(60_000);
  open.open('down');
  const opossum = new OpossumBreaker(fn, { timeout: false });
  opossum.open();
  const cockatiel = circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) });
  cockatiel.isolate();
  const swallow = (): number => 0;
  const rows = await measureCases(
    [
      ['bare await fn()', () => fn()],
      [
        "execute('down', fn) on an open circuit",
        () => open.execute('down', fn).catch(swallow),
        'CircuitOpenError',
      ],
      ['opossum 10 fire() on an open breaker', () => opossum.fire().catch(swallow)],
      ['cockatiel 4 execute() on an isolated breaker', () => cockatiel.execute(fn).catch(swallow)],
    ],
    20_000,
  );
  printTable(
    'Circuit breaker: open-circuit rejection (ns per rejected call, caught)',
    withRatios(rows, 'bare await fn()'),
  );
  opossum.shutdown();
}

async function memoryAndIdle(): Promise<void> {
  const gc = gcFunction();
  const fn = async (): Promise<number> => 1;
  const names = Array.from({ length: CIRCUITS }, (_, i) => `circuit-${i}`);
  const rows: string[] = [];
  const report = async (label: string, build: () => Promise<() => void>): Promise<void> => {
    const before = await settledHeap(gc);
    const timers = trackTimers();
    let dispose: () => void;
    let live: number;
    try {
      dispose = await build();
      live = timers.live();
    } finally {
      timers.restore();
    }
    const after = await settledHeap(gc);
    const cpu = await idleCpuPercent(2_000);
    rows.push(`| ${label} | ${Math.round((after - before) / CIRCUITS)} | ${live} | ${cpu.toFixed(1)} % |`);
    dispose();
  };

  await report('CircuitBreakerService (each circuit used once)', async () => {
    const svc = service(60_000);
    for (const name of names) await svc.execute(name, fn);
    return () => svc.onApplicationShutdown();
  });
  await report('opossum 10 (a Map of named breakers, each fired once)', async () => {
    const breakers = new Map<string, OpossumBreaker>();
    for (const name of names) {
      const b = new OpossumBreaker(fn, { name, timeout: 60_000 });
      breakers.set(name, b);
      await b.fire();
    }
    return () => breakers.forEach((b) => b.shutdown());
  });
  for (const [label, make] of [
    ['cockatiel 4 ConsecutiveBreaker', () => new ConsecutiveBreaker(5)],
    ['cockatiel 4 SamplingBreaker', () => new SamplingBreaker({ threshold: 0.5, duration: 60_000 })],
  ] as const) {
    await report(`${label} (a Map of named policies, each run once)`, async () => {
      const policies = new Map<string, ReturnType<typeof circuitBreaker>>();
      for (const name of names) {
        const p = circuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: make() });
        policies.set(name, p);
        await p.execute(fn);
      }
      return () => policies.clear();
    });
  }
  console.log(`\n### Circuit breaker: ${CIRCUITS.toLocaleString('en')} named circuits\n`);
  console.log('| library | heap + external bytes per circuit | live timers | idle CPU (2 s) |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
}

export async function run(): Promise<void> {
  Logger.overrideLogger(false); // the manual open() below would log a warning into the tables
  try {
    await successPath();
    await openPath();
    await memoryAndIdle();
  } finally {
    Logger.overrideLogger(true);
  }
}
