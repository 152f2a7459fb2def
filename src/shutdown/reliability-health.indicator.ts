import { Injectable } from '@nestjs/common';
import { HealthCheckDetail, ReliabilityHealthService } from './reliability-health.service.js';

/**
 * The shape of `@nestjs/terminus`'s `HealthIndicatorResult`: `{ [key]: { status: 'up' | 'down', ... } }`.
 * Declared here so that `@nestjs/terminus` stays an optional peer: nothing of it is imported.
 * @publicApi
 */
export type TerminusIndicatorResult<Key extends string = string> = Record<Key, HealthCheckDetail>;

/**
 * Indicators for `@nestjs/terminus` users. Terminus marks the whole check 503 when a result's
 * status is `down`, so these return results and never throw.
 *
 * ```ts
 * @Get('health')
 * @HealthCheck()
 * check() {
 *   return this.health.check([
 *     () => this.reliability.shutdown(),
 *     () => this.reliability.circuits(['payments']),
 *     () => this.reliability.database(),
 *   ]);
 * }
 * ```
 * @publicApi
 */
@Injectable()
export class ReliabilityHealthIndicator {
  constructor(private readonly health: ReliabilityHealthService) {}

  /** `down` from the shutdown signal (or `app.close()`) on. */
  shutdown<Key extends string = 'shutdown'>(key: Key = 'shutdown' as Key): TerminusIndicatorResult<Key> {
    return { [key]: this.health.shutdownCheck() } as TerminusIndicatorResult<Key>;
  }

  /** `down` while any of the circuits is open; the detail lists each circuit's state. */
  async circuits<Key extends string = 'circuits'>(
    names: readonly string[],
    key: Key = 'circuits' as Key,
  ): Promise<TerminusIndicatorResult<Key>> {
    const checks = await this.health.circuitChecks(names);
    const down = Object.values(checks).some((c) => c.status === 'down');
    return { [key]: { status: down ? 'down' : 'up', ...checks } } as TerminusIndicatorResult<Key>;
  }

  /** The DatabaseService check (`SELECT 1` within DATABASE_HEALTH_TIMEOUT). */
  async database<Key extends string = 'database'>(
    key: Key = 'database' as Key,
  ): Promise<TerminusIndicatorResult<Key>> {
    return { [key]: await this.health.databaseCheck() } as TerminusIndicatorResult<Key>;
  }

  /**
   * One custom check of `forRoot({ health: { checks } })`, under its name unless `key` is given;
   * `down` when no check has that name.
   */
  async check<Key extends string>(name: Key): Promise<TerminusIndicatorResult<Key>>;
  async check<Key extends string>(name: string, key: Key): Promise<TerminusIndicatorResult<Key>>;
  async check(name: string, key: string = name): Promise<TerminusIndicatorResult> {
    const detail = await this.health.customCheck(name);
    return { [key]: detail ?? { status: 'down', error: `no health check named "${name}"` } };
  }

  /** The whole readiness report (shutdown, critical circuits, database, custom checks) as one indicator. */
  async readiness<Key extends string = 'reliability'>(
    key: Key = 'reliability' as Key,
  ): Promise<TerminusIndicatorResult<Key>> {
    const report = await this.health.readiness();
    return {
      [key]: { status: report.status === 'ok' ? 'up' : 'down', ...report.checks },
    } as TerminusIndicatorResult<Key>;
  }
}
