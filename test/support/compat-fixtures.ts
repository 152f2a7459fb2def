/**
 * Helpers of the compatibility test (test/e2e/compat.spec.ts): build and pack the library, copy a
 * fixture app from test/fixtures/ to a temporary directory, install the tarball into it from the
 * npm registry, and run commands there with a bounded time.
 */
import { spawn } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_SECTIONS } from '../../src/config/reliability-config';

export const ROOT = join(__dirname, '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

export interface RunResult {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Every variable the library reads: kept out of the fixtures' environment so that they see only their own. */
const LIBRARY_VARIABLES = new Set(
  Object.values(CONFIG_SECTIONS).flatMap((fields) => fields.map((f) => f.env)),
);

/**
 * The environment for a child: this one without the library's variables, without what `npm test`
 * and jest set for themselves (the fixture is another project), plus `extra`.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (LIBRARY_VARIABLES.has(name)) continue;
    if (/^npm_(package|lifecycle)_|^npm_config_local_prefix$|^npm_command$|^JEST_WORKER_ID$/.test(name))
      continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/** Runs a command to its end or until `timeoutMs` (then SIGKILL); never rejects. */
export function run(
  command: string,
  args: string[],
  options: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<RunResult> {
  const started = performance.now();
  const line = [command, ...args].join(' ');
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const done = (code: number | null, signal: NodeJS.Signals | null, extra = '') =>
      resolve({
        command: line,
        code,
        signal,
        stdout,
        stderr: stderr + extra,
        ms: performance.now() - started,
      });
    child.on('error', (error) => done(null, null, `\nspawn failed: ${error.message}`));
    child.on('close', (code, signal) => done(code, signal));
  });
}

/** A one-paragraph account of a failed command, for an assertion message. */
export function describeRun(result: RunResult): string {
  const tail = (s: string) => s.trim().split('\n').slice(-40).join('\n');
  const ended = result.signal
    ? `killed by ${result.signal} (timeout?)`
    : result.code === 13
      ? 'exit code 13 (a top-level await never settled: the event loop emptied while the app was ' +
        'waiting, e.g. on an unref()ed timer)'
      : `exit code ${result.code}`;
  return `\`${result.command}\` ${ended} after ${Math.round(result.ms)} ms\n--- stdout\n${tail(result.stdout)}\n--- stderr\n${tail(result.stderr)}`;
}

/** What `npm pack --json` reports of the tarball. */
export interface PackReport {
  tarball: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: string[];
}

/** `npm run build`, then `npm pack` into `destination` (the build runs once, not again as prepack). */
export async function buildAndPack(destination: string): Promise<PackReport> {
  const build = await run('npm', ['run', 'build'], { cwd: ROOT, timeoutMs: 90_000 });
  if (build.code !== 0) throw new Error(`npm run build failed:\n${describeRun(build)}`);
  const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], {
    cwd: ROOT,
    timeoutMs: 30_000,
  });
  if (pack.code !== 0) throw new Error(`npm pack failed:\n${describeRun(pack)}`);
  const [report] = JSON.parse(pack.stdout) as {
    filename: string;
    size: number;
    unpackedSize: number;
    entryCount: number;
    files: { path: string }[];
  }[];
  return {
    tarball: join(destination, report.filename),
    size: report.size,
    unpackedSize: report.unpackedSize,
    entryCount: report.entryCount,
    files: report.files.map((f) => f.path),
  };
}

/**
 * npm's own retries wait up to a minute each when the registry is down: give up after one short
 * retry instead, so that an unreachable registry fails in seconds, with its error code.
 */
const NPM_INSTALL_FLAGS = [
  '--no-audit',
  '--no-fund',
  '--prefer-offline',
  '--loglevel=error',
  '--fetch-retries=1',
  '--fetch-retry-mintimeout=2000',
  '--fetch-retry-maxtimeout=5000',
  '--fetch-timeout=60000',
];

/** Network failures of npm: the registry could not be reached, which the test reports as such. */
const UNREACHABLE =
  /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|socket hang up/;

/**
 * Copies `test/fixtures/<name>` to `<workDir>/<name>` and installs its own dependencies and the
 * tarball there, as a user would (`npm install <tarball>`). Returns the copy's path.
 */
export async function installFixture(
  name: string,
  tarball: string,
  workDir: string,
  npmArgs: string[] = [],
): Promise<{ dir: string; install: RunResult }> {
  const dir = join(workDir, name);
  cpSync(join(FIXTURES, name), dir, { recursive: true, filter: (src) => !src.includes('node_modules') });
  const install = await run('npm', ['install', ...NPM_INSTALL_FLAGS, ...npmArgs, tarball], {
    cwd: dir,
    timeoutMs: 150_000,
  });
  if (install.code !== 0) {
    // A failed install says ERESOLVE, not "offline", when the registry is down: ask the registry.
    const ping = await run('npm', ['ping', '--fetch-retries=0', '--fetch-timeout=10000'], {
      cwd: dir,
      timeoutMs: 20_000,
    });
    if (ping.code !== 0 || UNREACHABLE.test(install.stderr)) {
      throw new Error(
        `compat fixture ${name}: the npm registry could not be reached; this test needs it to install ` +
          `NestJS into a copy of the fixture.\n${describeRun(ping)}\n${describeRun(install)}`,
      );
    }
    throw new Error(`compat fixture ${name}: npm install failed.\n${describeRun(install)}`);
  }
  return { dir, install };
}

/**
 * A TypeScript file that uses the package's declarations: `.cts` (resolved with the `require`
 * condition), `.mts` (`import` condition) or `.ts` (for a `module: commonjs` project without
 * `exports` support, like Bytebot's: the `types` field). The `@ts-expect-error` line fails the
 * check if the declarations were not found or typed everything as `any`.
 */
export function writeTypesCheck(dir: string, extension: 'cts' | 'mts' | 'ts'): string {
  const file = `types-check.${extension}`;
  writeFileSync(
    join(dir, file),
    `import type { DynamicModule } from '@nestjs/common';
import { CircuitBreakerService, RELIABILITY_CONFIG, ReliabilityModule, RetryService } from 'nestjs-reliability';
import type { ReliabilityConfig } from 'nestjs-reliability';
import { FakeClock, ReliabilityTestingModule } from 'nestjs-reliability/testing';

export const sync: DynamicModule = ReliabilityModule.forRoot({ retry: { maxAttempts: 2 } });
export const async: DynamicModule = ReliabilityModule.forRootAsync({ useFactory: () => ({}) });
export const token: symbol = RELIABILITY_CONFIG;
export type MaxAttempts = ReliabilityConfig['retry']['maxAttempts'];
declare const retry: RetryService;
declare const breaker: CircuitBreakerService;
export const retried: Promise<number> = retry.executeWithRetry(async () => 1);
export const guarded: Promise<string> = breaker.execute('compat', async () => 'ok');
// @ts-expect-error an unknown option must be a type error
ReliabilityModule.forRoot({ retry: { maxAttemps: 2 } });
export const testing: DynamicModule = ReliabilityTestingModule.forRoot({ clock: new FakeClock(0) });
export const advanced: Promise<string> = new FakeClock().advanceUntilSettled(Promise.resolve('ok'));
// @ts-expect-error the testing module's options are typed too
ReliabilityTestingModule.forRoot({ clock: 5 });
`,
  );
  return file;
}

/**
 * The root's TypeScript on one file, strict, as a `node16` consumer with library checking on (so
 * the package's own .d.ts files are checked under that condition), or as a `module: commonjs`
 * project with node10 resolution, decorator metadata and skipLibCheck, as Bytebot's tsconfig is.
 */
export function typeCheck(dir: string, file: string, resolution: 'node16' | 'node10'): Promise<RunResult> {
  const modules = join(ROOT, 'node_modules');
  const moduleFlags =
    resolution === 'node16'
      ? ['--module', 'node16', '--moduleResolution', 'node16', '--skipLibCheck', 'false']
      : [
          '--skipLibCheck',
          'true',
          '--module',
          'commonjs',
          '--moduleResolution',
          'node10',
          '--experimentalDecorators',
          '--emitDecoratorMetadata',
        ];
  return run(
    process.execPath,
    [
      join(modules, 'typescript', 'bin', 'tsc'),
      '--noEmit',
      '--strict',
      ...moduleFlags,
      '--target',
      'es2022',
      '--lib',
      'es2023',
      '--types',
      'node',
      '--typeRoots',
      join(modules, '@types'),
      '--explainFiles',
      file,
    ],
    { cwd: dir, timeoutMs: 90_000 },
  );
}

/** Fails with the command's account unless it exited with code 0. */
export function expectSuccess(result: RunResult): void {
  if (result.code !== 0) throw new Error(describeRun(result));
}
