import { Injectable, Logger, Module, OnModuleDestroy } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { ShutdownService } from './shutdown.service.js';

/**
 * Runs the grace period and the drain in the very first `onModuleDestroy` of the app.
 *
 * Nest calls `onModuleDestroy` module by module, the root module first and global modules last,
 * and every `onModuleDestroy` before any `beforeApplicationShutdown`. A provider of the app that
 * closes a connection pool in its `onModuleDestroy` would do so under requests still in flight,
 * unless the drain finishes before it. So this one-provider module is moved to the front of
 * Nest's destroy order (lowest module distance). Only its destroy order changes: Nest's
 * initialization order is the reverse, and this module has nothing to initialize.
 */
@Injectable()
export class ShutdownDrainHook implements OnModuleDestroy {
  constructor(
    private readonly shutdown: ShutdownService,
    modules: ModulesContainer,
  ) {
    if (!moveToFrontOfDestroyOrder(modules, ShutdownDrainModule)) {
      new Logger('ShutdownService').warn(
        'Could not order the drain before the other onModuleDestroy hooks; close resources that ' +
          'requests use in a cleanup task (registerCleanupTask), not in onModuleDestroy.',
      );
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.shutdown.drain();
  }
}

/** Internal: imported by ReliabilityModule. */
@Module({ providers: [ShutdownDrainHook] })
export class ShutdownDrainModule {}

/**
 * Gives `metatype`'s module a distance below every other module's. Nest sorts modules by
 * distance once, at `init()`, which comes after provider construction: so this runs in time.
 */
export function moveToFrontOfDestroyOrder(modules: ModulesContainer, metatype: unknown): boolean {
  try {
    let lowest = 0;
    let target: { distance: number } | undefined;
    for (const moduleRef of modules.values()) {
      if (moduleRef.metatype === metatype) target = moduleRef;
      else lowest = Math.min(lowest, moduleRef.distance);
    }
    if (!target) return false;
    target.distance = lowest - 1;
    return target.distance === lowest - 1;
  } catch {
    return false;
  }
}
