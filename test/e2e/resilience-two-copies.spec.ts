/**
 * Two copies of the package in one app, as with a CommonJS library under an ES-module app, or two
 * installed versions: a controller decorated by one copy, the ReliabilityModule of the other. The
 * second copy is this source tree copied to a temporary directory (its own package.json, version
 * 0.0.0-other) whose node_modules is this one's, so both copies share one Nest, as an app's do.
 */
import { Controller, Get, LoggerService, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import * as here from '../../src';

type Library = typeof here;
const ROOT = join(__dirname, '..', '..');
const VERSION = (require(join(ROOT, 'package.json')) as { version: string }).version;

class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

function decoratedController(lib: Library): new () => object {
  @Controller('q')
  class QuotesController {
    @Get()
    @lib.UseResilience({ timeoutMs: 50, fallbackResponse: { fallback: true } })
    get() {
      return new Promise(() => undefined);
    }
  }
  return QuotesController;
}

function appModule(lib: Library, controller: new () => object): new () => object {
  @Module({ imports: [lib.ReliabilityModule.forRoot({ env: {} })], controllers: [controller] })
  class AppModule {}
  return AppModule;
}

describe('two copies of nestjs-reliability in one app', () => {
  let dir: string;
  let other: Library;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nestjs-reliability-copy-'));
    cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true });
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'nestjs-reliability', version: '0.0.0-other' }),
    );
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    other = require(join(dir, 'src')) as Library;
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads a distinct copy', () => {
    expect(other.ReliabilityModule).not.toBe(here.ReliabilityModule);
    expect(other.ResilienceInterceptor).not.toBe(here.ResilienceInterceptor);
  });

  it.each([
    ['this copy decorates, the other provides the module', () => [here, other]],
    ['the other copy decorates, this one provides the module', () => [other, here]],
  ])(
    'fails at bootstrap naming both copies (%s), instead of running the route unprotected',
    async (_case, pick) => {
      const [decorating, providing] = pick();
      const logger = new CapturingLogger();
      const compiling = Test.createTestingModule({
        imports: [appModule(providing, decoratedController(decorating))],
      })
        .setLogger(logger)
        .compile();
      const error = (await compiling.catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(Error);
      const [decorator, module] = decorating === here ? [VERSION, '0.0.0-other'] : ['0.0.0-other', VERSION];
      const srcOf = (lib: Library) => (lib === here ? join(ROOT, 'src') : join(dir, 'src'));
      expect(error.message).toContain('Two copies of nestjs-reliability are loaded');
      expect(error.message).toContain(
        `@UseResilience() comes from ${decorator} at ${srcOf(decorating)}, ` +
          `ReliabilityModule from ${module} at ${srcOf(providing)}`,
      );
      expect(logger.warnings.filter((w) => w.includes('ReliabilityModule is not imported'))).toEqual([]);
    },
  );

  it('one copy, decorator and module: the route is protected', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [appModule(other, decoratedController(other))],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const res = await request(app.getHttpServer()).get('/q').expect(200);
      expect(res.body).toEqual({ fallback: true });
    } finally {
      await app.close();
    }
  });
});
