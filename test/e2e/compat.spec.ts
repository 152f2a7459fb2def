/**
 * The packed library in two fresh apps: `npm run build`, `npm pack`, then `npm install <tarball>`
 * into copies of test/fixtures/compat-nest11-cjs (NestJS 11, CommonJS, tested with jest: Bytebot's
 * stack) and test/fixtures/compat-nest12-esm (NestJS 12, ES modules). Each resolves RetryService
 * and CircuitBreakerService in a provider of its own module and calls them once. The declarations
 * are type-checked from both apps as a Node16 consumer would resolve them, and from the Nest 11 app
 * as a `module: commonjs` project (Bytebot's tsconfig) would.
 *
 * Needs the npm registry (NestJS is installed into the copies); fails, saying so, without it.
 * Installs run in parallel; the whole file is bounded at four minutes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildAndPack,
  childEnv,
  describeRun,
  expectSuccess,
  installFixture,
  PackReport,
  ROOT,
  run,
  RunResult,
  typeCheck,
  writeTypesCheck,
} from '../support/compat-fixtures';

const BUDGET_MS = 240_000;

interface JestReport {
  success: boolean;
  numPassedTests: number;
  numFailedTests: number;
  testResults: { assertionResults: { title: string; status: string; failureMessages: string[] }[] }[];
}

describe('compat: the packed library in a NestJS 11 CommonJS app and a NestJS 12 ESM app', () => {
  let work: string;
  let pack: PackReport;
  let nest11: { dir: string; jest: RunResult; types: RunResult; node10Types: RunResult };
  let nest12: { dir: string; app: RunResult; types: RunResult };
  const started = performance.now();

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'nestjs-reliability-compat-'));
    pack = await buildAndPack(work);
    const [cjs, esm] = await Promise.all([
      installFixture('compat-nest11-cjs', pack.tarball, work),
      // This app does not install @nestjs/config (an optional peer): the library must boot without it.
      installFixture('compat-nest12-esm', pack.tarball, work),
    ]);
    const [jest, cjsTypes, node10Types, app, esmTypes] = await Promise.all([
      run(
        process.execPath,
        [
          join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'),
          '--config',
          join(cjs.dir, 'jest.config.cjs'),
          '--rootDir',
          cjs.dir,
          '--ci',
          '--watchman=false',
          '--cacheDirectory',
          join(cjs.dir, '.jest-cache'),
          '--json',
          '--outputFile',
          join(cjs.dir, 'jest-report.json'),
        ],
        { cwd: cjs.dir, timeoutMs: 90_000 },
      ),
      typeCheck(cjs.dir, writeTypesCheck(cjs.dir, 'cts'), 'node16'),
      typeCheck(cjs.dir, writeTypesCheck(cjs.dir, 'ts'), 'node10'),
      // The option (retry.baseDelay: 100) must win over the variable; RETRY_MAX_ATTEMPTS comes from process.env.
      run(process.execPath, ['app.mjs'], {
        cwd: esm.dir,
        timeoutMs: 60_000,
        env: childEnv({ RETRY_MAX_ATTEMPTS: '4', RETRY_BASE_DELAY: '999' }),
      }),
      typeCheck(esm.dir, writeTypesCheck(esm.dir, 'mts'), 'node16'),
    ]);
    nest11 = { dir: cjs.dir, jest, types: cjsTypes, node10Types };
    nest12 = { dir: esm.dir, app, types: esmTypes };
    const ms = (r: RunResult) => `${(r.ms / 1000).toFixed(1)} s`;
    console.log(
      `compat: tarball ${(pack.size / 1024).toFixed(1)} kB packed, ${(pack.unpackedSize / 1024).toFixed(1)} kB ` +
        `unpacked, ${pack.entryCount} files; installs ${ms(cjs.install)} and ${ms(esm.install)} (parallel); ` +
        `jest ${ms(jest)}, app ${ms(app)}, types ${ms(cjsTypes)}, ${ms(node10Types)} and ${ms(esmTypes)}; ` +
        `total ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }, BUDGET_MS);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('packs both builds with their declarations, and nothing else', () => {
    const allowed =
      /^(package\.json|README\.md|LICENSE|dist\/(cjs|esm)\/package\.json|dist\/(cjs|esm)\/.+\.(js|d\.ts))$/;
    expect(pack.files.filter((f) => !allowed.test(f))).toEqual([]);
    expect(
      pack.files.filter((f) => /\.map$|\.spec\.|(^|\/)(test|fixtures|bench|examples)\//.test(f)),
    ).toEqual([]);
    // The two builds hold the same modules.
    const under = (dir: string) =>
      pack.files
        .filter((f) => f.startsWith(dir))
        .map((f) => f.slice(dir.length))
        .sort();
    expect(under('dist/cjs/')).toEqual(under('dist/esm/'));
    // Every entry point named in package.json is in the tarball.
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    // The values of the `exports` and `typesVersions` maps, not their keys (subpaths such as './testing').
    const values = (node: unknown): string[] =>
      typeof node === 'string'
        ? [node]
        : Array.isArray(node) || (typeof node === 'object' && node !== null)
          ? Object.values(node).flatMap(values)
          : [];
    const targets = [
      manifest.main,
      manifest.module,
      manifest.types,
      ...values(manifest.exports),
      ...values(manifest.typesVersions),
    ].map((p: string) => p.replace(/^\.\//, ''));
    expect(targets.filter((t) => !pack.files.includes(t))).toEqual([]);
    expect(targets).toEqual(
      expect.arrayContaining([
        'dist/cjs/index.js',
        'dist/esm/index.js',
        'dist/cjs/index.d.ts',
        'dist/esm/index.d.ts',
        'dist/cjs/testing/index.js',
        'dist/esm/testing/index.js',
        'dist/cjs/testing/index.d.ts',
        'dist/esm/testing/index.d.ts',
      ]),
    );
  });

  it('loads under jest in a NestJS 11 CommonJS app, from dist/cjs, and resolves the services', () => {
    expectSuccess(nest11.jest);
    const report = JSON.parse(readFileSync(join(nest11.dir, 'jest-report.json'), 'utf8')) as JestReport;
    const results = report.testResults.flatMap((r) => r.assertionResults);
    expect(results.map((r) => [r.title, r.status])).toEqual([
      ['is loaded from the CommonJS build', 'passed'],
      ['injects RetryService and CircuitBreakerService into a provider of another module', 'passed'],
      [
        'reads variables through the app ConfigService (the lazy @nestjs/config import, under jest)',
        'passed',
      ],
      ['runs the HTTP preset on the fake clock of nestjs-reliability/testing, with no real wait', 'passed'],
    ]);
    expect({ success: report.success, passed: report.numPassedTests, failed: report.numFailedTests }).toEqual(
      {
        success: true,
        passed: 4,
        failed: 0,
      },
    );
  });

  it('loads in a NestJS 12 ES-module app, from dist/esm, without @nestjs/config, and resolves the services', () => {
    expectSuccess(nest12.app);
    const line = nest12.app.stdout.split('\n').find((l) => l.startsWith('COMPAT_RESULT '));
    if (line === undefined)
      throw new Error(`app.mjs printed no COMPAT_RESULT line:\n${describeRun(nest12.app)}`);
    const result = JSON.parse(line.slice('COMPAT_RESULT '.length));
    expect(result).toEqual({
      importResolved: expect.stringMatching(/\/node_modules\/nestjs-reliability\/dist\/esm\/index\.js$/),
      requireResolved: expect.stringMatching(/\/node_modules\/nestjs-reliability\/dist\/cjs\/index\.js$/),
      testingResolved: expect.stringMatching(
        /\/node_modules\/nestjs-reliability\/dist\/esm\/testing\/index\.js$/,
      ),
      testingModule: true,
      nestVersion: expect.stringMatching(/^12\./),
      configInstalled: false,
      retryIsService: true,
      breakerIsService: true,
      retry: { maxAttempts: 4, baseDelay: 100 },
      retried: 'retried',
      calls: 2,
      guarded: 'guarded',
      dualCopies: expect.stringMatching(
        /^Two copies of nestjs-reliability are loaded: @UseResilience\(\) comes from \S+ at \S*\/node_modules\/nestjs-reliability\/dist\/cjs, ReliabilityModule from \S+ at \S*\/node_modules\/nestjs-reliability\/dist\/esm,/,
      ),
    });
  });

  it.each([
    ['require (node16)', 'NestJS 11', () => nest11.types, 'dist/cjs', 'dist/esm'],
    [
      'the types field (module commonjs, node10)',
      'NestJS 11',
      () => nest11.node10Types,
      'dist/cjs',
      'dist/esm',
    ],
    ['import (node16)', 'NestJS 12', () => nest12.types, 'dist/esm', 'dist/cjs'],
  ])('resolves and type-checks the declarations for %s (%s)', (_condition, _nest, types, used, unused) => {
    const result = types();
    expectSuccess(result);
    expect(result.stdout).toContain(`node_modules/nestjs-reliability/${used}/index.d.ts`);
    expect(result.stdout).not.toContain(`nestjs-reliability/${unused}/`);
  });
});
