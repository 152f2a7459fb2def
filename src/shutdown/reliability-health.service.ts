import { Inject, Injectable, Optional } from '@nestjs/common';
import { Clock, systemClock } from '../core/common/clock.js';
import { runWithTimeout } from '../core/common/deadline.js';
import { ReliabilityConfig } from '../config/reliability-config.js';
import {
  HEALTH_OPTIONS,
  RELIABILITY_CLOCK,
  RELIABILITY_CONFIG,
  RELIABILITY_MODULE_OPTIONS,
} from '../reliability.tokens.js';
import { ReliabilityModuleOptions } from '../reliability-options.interface.js';
import { HealthCheckDetail, HealthCheckRunner } from './health-checks.js';
import { ResolvedHealthOptions } from './health.options.js';
import { CircuitBreakerService } from '../circuit-breaker/circuit-breaker.service.js';
import { DatabaseService } from '../database/database.service.js';
import { ShutdownService } from './shutdown.service.js';

export type { HealthCheckDetail } from './health-checks.js';

/** The body of `/health/live` and `/health/ready`. @publicApi */
export interface HealthReport {
  status: 'ok' | 'error';
  checks: Record<string, HealthCheckDetail>;
}

/** Liveness and readiness, with the detail of each check. @publicApi */
export interface HealthSnapshot {
  live: boolean;
  ready: boolean;
  liveness: HealthReport;
  readiness: HealthReport;
}

/** What the health checks need of CircuitBreakerService. */
interface CircuitStateReader {
  getState(name: string): 'CLOSED' | 'OPEN' | 'HALF_OPEN' | undefined;
}

/** What the health checks need of DatabaseService. */
interface DatabaseHealthCheck {
  healthCheck(): Promise<{ ok: boolean; latencyMs: number; error?: string }>;
}

const NOT_CHECKED: HealthCheckDetail = Object.freeze({ status: 'down', error: 'not checked: shutting down' });

function report(checks: Record<string, HealthCheckDetail>): HealthReport {
  const ok = Object.values(checks).every((c) => c.status === 'up');
  return { status: ok ? 'ok' : 'error', checks };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Liveness and readiness of the app, as served by the health endpoints and the terminus
 * indicators. Readiness is down during shutdown, while a critical circuit is open, or when the
 * database check fails.
 * @publicApi
 */
@Injectable()
export class ReliabilityHealthService {
  private readonly clock: Clock;
  private readonly custom: HealthCheckRunner;

  constructor(
    private readonly shutdown: ShutdownService,
    @Inject(RELIABILITY_CONFIG) private readonly config: ReliabilityConfig,
    @Optional() @Inject(HEALTH_OPTIONS) private readonly options?: ResolvedHealthOptions | null,
    @Optional() @Inject(RELIABILITY_CLOCK) clock?: Clock,
    @Optional() @Inject(CircuitBreakerService) private readonly circuitService?: CircuitStateReader,
    @Optional() @Inject(DatabaseService) private readonly databaseService?: DatabaseHealthCheck,
    @Optional() @Inject(RELIABILITY_MODULE_OPTIONS) private readonly moduleOptions?: ReliabilityModuleOptions,
  ) {
    this.clock = clock ?? systemClock;
    this.custom = new HealthCheckRunner(options?.checks ?? [], this.clock);
  }

  /** Up while the process is not stuck, including during a normal shutdown. */
  liveness(): HealthReport {
    const live = this.shutdown.isLive();
    return report({
      process: {
        status: live ? 'up' : 'down',
        phase: this.shutdown.getPhase(),
        uptimeS: Math.round(process.uptime()),
      },
    });
  }

  /**
   * Down from the first moment of the shutdown; also while a critical circuit is open
   * (`health.criticalCircuits`), the database check fails (`health.database`) or a custom
   * check fails (`health.checks`, each under its name).
   */
  async readiness(): Promise<HealthReport> {
    const checks: Record<string, HealthCheckDetail> = { shutdown: this.shutdownCheck() };
    Object.assign(checks, await this.circuitChecks(this.options?.criticalCircuits ?? []));
    const [database, custom] = await Promise.all([
      this.databaseEnabled() ? this.databaseCheck() : undefined,
      this.customChecks(),
    ]);
    if (database) checks.database = database;
    return report(Object.assign(checks, custom));
  }

  /**
   * The custom checks of `health.checks`, keyed by their names, run in parallel. Not run during
   * the shutdown: readiness is down anyway, and the dependency may be closing.
   */
  async customChecks(): Promise<Record<string, HealthCheckDetail>> {
    if (!this.shutdown.isShuttingDown()) return this.custom.runAll();
    const checks: Record<string, HealthCheckDetail> = {};
    for (const { name } of this.options?.checks ?? []) checks[name] = NOT_CHECKED;
    return checks;
  }

  /** One custom check of `health.checks` by name; `undefined` when there is none of that name. */
  async customCheck(name: string): Promise<HealthCheckDetail | undefined> {
    if (!this.options?.checks.some((c) => c.name === name)) return undefined;
    return this.shutdown.isShuttingDown() ? NOT_CHECKED : this.custom.runOne(name);
  }

  /** Both reports at once. */
  async getHealth(): Promise<HealthSnapshot> {
    const liveness = this.liveness();
    const readiness = await this.readiness();
    return { live: liveness.status === 'ok', ready: readiness.status === 'ok', liveness, readiness };
  }

  /** `up` while running, `down` from the signal (or `app.close()`) on. */
  shutdownCheck(): HealthCheckDetail {
    return { status: this.shutdown.isReady() ? 'up' : 'down', phase: this.shutdown.getPhase() };
  }

  /** One check per circuit, keyed `circuit:<name>`: `down` while it is open. */
  async circuitChecks(names: readonly string[]): Promise<Record<string, HealthCheckDetail>> {
    const checks: Record<string, HealthCheckDetail> = {};
    if (names.length === 0) return checks;
    const reader = this.circuitService;
    for (const name of names) {
      if (!reader) {
        checks[`circuit:${name}`] = { status: 'down', error: 'CircuitBreakerService is not available' };
        continue;
      }
      // A circuit that was never used has no state yet: it is closed.
      const state = reader.getState(name) ?? 'CLOSED';
      checks[`circuit:${name}`] = { status: state === 'OPEN' ? 'down' : 'up', state };
    }
    return checks;
  }

  /** The database `SELECT 1`, bounded by DATABASE_HEALTH_TIMEOUT. Not run during shutdown. */
  async databaseCheck(): Promise<HealthCheckDetail> {
    if (this.shutdown.isShuttingDown()) return NOT_CHECKED;
    const database = this.databaseService;
    if (!database) return { status: 'down', error: 'DatabaseService is not available' };
    const started = this.clock.now();
    try {
      const timeout = this.config.database.healthTimeout;
      const result = await runWithTimeout(
        () => database.healthCheck(),
        timeout,
        this.clock,
        'database health check',
      );
      return {
        status: result.ok ? 'up' : 'down',
        latencyMs: result.latencyMs,
        ...(result.error !== undefined ? { error: result.error } : {}),
      };
    } catch (error) {
      return { status: 'down', latencyMs: this.clock.now() - started, error: messageOf(error) };
    }
  }

  private databaseEnabled(): boolean {
    return this.options?.database ?? this.moduleOptions?.database !== undefined;
  }
}
