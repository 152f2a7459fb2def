/**
 * HTTP cost of `@UseResilience()`: autocannon on 127.0.0.1 against the same handler, undecorated,
 * behind an empty interceptor (Nest's floor for any interceptor) and behind breaker + retry +
 * attempt timeout (all succeeding), over Express and Fastify, in one run. Each app runs in its own
 * child process; the cases are interleaved over rounds to even out drift, and each case reports its
 * median round, with the server's CPU time per request (steadier than req/s on a shared machine).
 * Then the pipeline alone, in process: `intercept()` per call, without HTTP or Nest's router.
 *
 * With RESILIENCE_BENCH_CALLGRIND=1 (about 6 minutes per adapter), the server also runs under
 * valgrind's callgrind, which counts instructions per request: the same count whatever else the
 * machine is doing, where req/s and CPU time move with the load of a shared machine.
 */
import 'reflect-metadata';
import { Controller, Get, INestApplication } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Test } from '@nestjs/testing';
import autocannon from 'autocannon';
import { ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, of } from 'rxjs';
import { ReliabilityModule } from '../src/reliability.module';
import { ResilienceInterceptor, UseResilience } from '../src/resilience';
import { BenchResult, measure, printTable, withRatios } from './harness';

const CONNECTIONS = 10;
const WARMUP_S = 2;
const ROUND_S = 2;
const ROUNDS = 5;

interface Server {
  child: ChildProcess;
  url: string;
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU time (user + system) per request, in µs. */
  cpuUs: number;
  errors: number;
}

function startServer(adapter: string, kind: string): Promise<Server> {
  const child = fork(join(__dirname, 'resilience-server.ts'), [adapter, kind], {
    // Not ts-node: see resilience-ts-hook.cjs (ts-node would load `domain` into the server).
    execArgv: ['-r', join(__dirname, 'resilience-ts-hook.cjs')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve({ child, url: `http://127.0.0.1:${m.port}` }));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

function cpuOf(server: Server): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (m: { cpu?: NodeJS.CpuUsage }): void => {
      if (m.cpu === undefined) return;
      server.child.off('message', onMessage);
      resolve(m.cpu.user + m.cpu.system);
    };
    server.child.on('message', onMessage);
    server.child.send('cpu');
  });
}

async function load(server: Server, path: string, seconds: number): Promise<Sample> {
  const before = await cpuOf(server);
  const r = await autocannon({ url: server.url + path, connections: CONNECTIONS, duration: seconds });
  const cpu = (await cpuOf(server)) - before;
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    cpuUs: cpu / Math.max(1, r.requests.total),
    errors: r.errors + r.non2xx,
  };
}

function median(samples: Sample[]): Sample {
  const sorted = [...samples].sort((a, b) => a.rps - b.rps);
  const p99s = samples.map((s) => s.p99).sort((a, b) => a - b);
  const p50s = samples.map((s) => s.p50).sort((a, b) => a - b);
  const cpus = samples.map((s) => s.cpuUs).sort((a, b) => a - b);
  const mid = Math.floor(samples.length / 2);
  return {
    rps: sorted[mid].rps,
    p50: p50s[mid],
    p99: p99s[mid],
    cpuUs: cpus[mid],
    errors: samples.reduce((n, s) => n + s.errors, 0),
  };
}

function pct(a: number, b: number): string {
  return `${((100 * a) / b).toFixed(1)} %`;
}

/** The pipeline alone: `intercept()` with a `next` that emits at once, ns per call. */
async function pipelineCost(): Promise<void> {
  @Controller()
  class InProcessController {
    @Get('plain')
    plain(): string {
      return 'ok';
    }

    @Get('resilient')
    @UseResilience({ retry: 'FAST', timeoutMs: 1_000 })
    resilient(): string {
      return 'ok';
    }

    @Get('breaker')
    @UseResilience({})
    breakerOnly(): string {
      return 'ok';
    }
  }
  class Request {
    method = 'GET';
  }
  const moduleRef = await Test.createTestingModule({
    imports: [ReliabilityModule.forRoot({ env: {} })],
    controllers: [InProcessController],
  }).compile();
  const app: INestApplication = moduleRef.createNestApplication({ logger: false });
  await app.init();
  try {
    const interceptor = app.get(ResilienceInterceptor);
    const response = { headersSent: false };
    const next = { handle: () => of('ok') };
    const call = (handler: (...args: never[]) => unknown) => () =>
      lastValueFrom(
        interceptor.intercept(
          new ExecutionContextHost([new Request(), response], InProcessController, handler),
          next,
        ),
      );
    const proto = InProcessController.prototype;
    const rows: BenchResult[] = [];
    for (const [name, op, note] of [
      ['next.handle() alone', () => lastValueFrom(next.handle()), 'baseline'],
      ['intercept(): route not protected', call(proto.plain), 'the lookup miss'],
      ['intercept(): @UseResilience({})', call(proto.breakerOnly), 'breaker + default 60 s attempt timeout'],
      ['intercept(): breaker + retry + timeout', call(proto.resilient), "retry 'FAST', timeoutMs 1000"],
    ] as const) {
      rows.push({ name, nsPerOp: await measure(op, { iterations: 100_000 }), note });
    }
    printTable('Resilience pipeline in process (ns per call)', withRatios(rows, 'next.handle() alone'));
  } finally {
    await app.close();
  }
}

const CALLGRIND_WARMUP = 600;
const CALLGRIND_REQUESTS = 300;

/** Instructions per request of each route, counted by callgrind (sequential keep-alive requests). */
async function instructionCounts(adapter: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'resilience-callgrind-'));
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      `--callgrind-out-file=${dir}/cg.%p`,
      '--smc-check=all-non-file',
      process.execPath,
      '-r',
      join(__dirname, 'resilience-ts-hook.cjs'),
      join(__dirname, 'resilience-server.ts'),
      adapter,
      'module',
    ],
    { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] },
  );
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { port: number }) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`callgrind server exited with ${code}`)));
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const hit = (path: string): Promise<void> =>
      new Promise((resolve, reject) => {
        get({ host: '127.0.0.1', port, path, agent }, (res) => res.resume().on('end', resolve)).on(
          'error',
          reject,
        );
      });
    const paths = ['/plain', '/empty-interceptor', '/resilient'];
    for (const path of paths) for (let i = 0; i < CALLGRIND_WARMUP; i++) await hit(path);
    execFileSync('callgrind_control', ['-z', String(child.pid)], { stdio: 'ignore' });
    // Two passes; the second is reported (the JIT is still settling during the first).
    for (const path of [...paths, ...paths]) {
      for (let i = 0; i < CALLGRIND_REQUESTS; i++) await hit(path);
      execFileSync('callgrind_control', ['-d', path.slice(1), String(child.pid)], { stdio: 'ignore' });
    }
    agent.destroy();
  } finally {
    child.kill('SIGKILL');
  }
  const dumps = readdirSync(dir)
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .map((text) => ({
      trigger: /desc: Trigger: dump (\S+)/.exec(text)?.[1],
      total: Number(/summary: (\d+)/.exec(text)?.[1]),
    }))
    .filter((d) => d.trigger !== undefined);
  rmSync(dir, { recursive: true, force: true });
  const rows: BenchResult[] = ['plain', 'empty-interceptor', 'resilient'].map((name) => ({
    name,
    // `nsPerOp` holds instructions per request here.
    nsPerOp: dumps.filter((d) => d.trigger === name).slice(-1)[0].total / CALLGRIND_REQUESTS,
  }));
  printTable(
    `Resilience over ${adapter}: instructions per request (callgrind, not ns)`,
    withRatios(rows, 'plain'),
  );
}

export async function run(): Promise<void> {
  await pipelineCost();
  if (process.env.RESILIENCE_BENCH_CALLGRIND === '1') {
    for (const adapter of ['express', 'fastify']) await instructionCounts(adapter);
  }
  for (const adapter of ['express', 'fastify']) {
    const bare = await startServer(adapter, 'bare');
    const withModule = await startServer(adapter, 'module');
    const cases: Array<[string, Server, string, string]> = [
      ['no ReliabilityModule', bare, '/plain', 'Nest alone'],
      ['undecorated route', withModule, '/plain', 'ReliabilityModule imported'],
      ['empty interceptor', withModule, '/empty-interceptor', "Nest's floor for any interceptor"],
      ['@UseResilience route', withModule, '/resilient', "breaker + retry 'FAST' + timeoutMs 1000"],
    ];
    try {
      for (const [, server, path] of cases) await load(server, path, WARMUP_S);
      const samples = new Map<string, Sample[]>(cases.map(([name]) => [name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, server, path] of cases) samples.get(name)!.push(await load(server, path, ROUND_S));
      }
      const results = cases.map(([name, , , note]) => ({ name, note, ...median(samples.get(name)!) }));
      const rows: BenchResult[] = results.map((r) => ({
        name: r.name,
        nsPerOp: r.cpuUs * 1000,
        note:
          `${Math.round(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms` +
          `${r.errors ? `, ${r.errors} errors` : ''}; ${r.note}`,
      }));
      printTable(
        `Resilience over ${adapter}: server CPU ns per request, ${CONNECTIONS} connections, median of ${ROUNDS} x ${ROUND_S} s`,
        withRatios(rows, 'undecorated route'),
      );
      const [none, plain, empty, resilient] = results;
      const compare = (a: Sample, b: Sample): string =>
        `throughput ${pct(a.rps, b.rps)}, p99 ${a.p99} / ${b.p99} ms, server CPU per request ${pct(a.cpuUs, b.cpuUs)}`;
      console.log(`\n${adapter}:`);
      console.log(`- @UseResilience / undecorated: ${compare(resilient, plain)}`);
      console.log(`- @UseResilience / empty interceptor: ${compare(resilient, empty)}`);
      console.log(`- undecorated, with / without the module: ${compare(plain, none)}`);
    } finally {
      bare.child.disconnect();
      withModule.child.disconnect();
    }
  }
}
