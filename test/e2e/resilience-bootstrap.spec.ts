import { Controller, Get, Logger, Type } from '@nestjs/common';
import { isReliabilityConfigError } from '../../src/core/common/errors';
import { UseResilience } from '../../src/resilience';
import type { ResilienceOptions } from '../../src/resilience';
import { buildResilienceApp, RESILIENCE_ADAPTERS } from '../support/resilience-app';

function controllerWith(options: unknown, name = 'BadController'): Type {
  @Controller('bad')
  class Bad {
    @Get()
    @UseResilience(options as ResilienceOptions)
    find(): string {
      return 'never served';
    }
  }
  Object.defineProperty(Bad, 'name', { value: name });
  return Bad;
}

async function bootError(adapter: (typeof RESILIENCE_ADAPTERS)[number], controller: Type): Promise<Error> {
  const app = await buildResilienceApp(adapter, [controller]);
  try {
    await app.init();
  } catch (error) {
    return error as Error;
  } finally {
    await app.close().catch(() => undefined);
  }
  throw new Error('bootstrap succeeded');
}

describe.each(RESILIENCE_ADAPTERS)('@UseResilience options at bootstrap over %s', (adapter) => {
  beforeAll(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterAll(() => {
    jest.restoreAllMocks();
  });

  it.each([
    ['a negative timeout', { timeoutMs: -1 }, 'BadController.find @UseResilience.timeoutMs=-1'],
    ['a non-numeric timeout', { timeoutMs: '500' }, 'BadController.find @UseResilience.timeoutMs="500"'],
    [
      'a negative total timeout',
      { totalTimeoutMs: -10 },
      'BadController.find @UseResilience.totalTimeoutMs=-10',
    ],
    ['an unknown preset', { retry: 'TURBO' }, 'BadController.find @UseResilience.retry="TURBO"'],
    [
      'a bad retry config',
      { retry: { maxAttempts: 0 } },
      'BadController.find @UseResilience.retry.maxAttempts=0',
    ],
    [
      'enableFallback with nothing to serve',
      { enableFallback: true },
      'BadController.find @UseResilience.enableFallback=true: needs fallbackResponse or fallback',
    ],
    [
      'a misspelt option',
      { timeOutMs: 100 },
      'BadController.find @UseResilience.timeOutMs=100: is not a known option',
    ],
    [
      'a bad circuit option',
      { circuit: { failureThreshold: 50 } },
      'BadController.find @UseResilience.circuit.failureThreshold=50',
    ],
  ])('fails on %s, naming the route, the field and the value', async (_kind, options, message) => {
    const error = await bootError(adapter, controllerWith(options));
    expect(isReliabilityConfigError(error)).toBe(true);
    expect(error.message).toContain(message);
  });

  it('validates the merged class and method options, and lists every bad route at once', async () => {
    @Controller('merged')
    @UseResilience({ fallbackResponse: 'from the class' })
    class MergedController {
      @Get('ok')
      @UseResilience({ enableFallback: true })
      completedByClass(): string {
        return 'ok';
      }
    }
    const app = await buildResilienceApp(adapter, [MergedController]);
    await expect(app.init()).resolves.toBe(app);
    await app.close();

    @Controller('two')
    @UseResilience({ timeoutMs: -5 })
    class TwoBadRoutes {
      @Get('a')
      a(): string {
        return 'a';
      }
      @Get('b')
      @UseResilience({ retry: 'NOPE' as 'FAST' })
      b(): string {
        return 'b';
      }
    }
    const error = await bootError(adapter, TwoBadRoutes);
    expect(error.message).toContain('TwoBadRoutes.a @UseResilience.timeoutMs=-5');
    expect(error.message).toContain('TwoBadRoutes.b @UseResilience.timeoutMs=-5');
    expect(error.message).toContain('TwoBadRoutes.b @UseResilience.retry="NOPE"');
  });
});
