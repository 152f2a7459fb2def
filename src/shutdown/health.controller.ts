import { Controller, Get, Header, Inject, ServiceUnavailableException, Type } from '@nestjs/common';
import { HealthReport, ReliabilityHealthService } from './reliability-health.service.js';

/**
 * Builds the health controller at `path` (the path is an option, and a controller's path is
 * fixed by its decorator, so each configuration gets its own class). Down reports are 503 with
 * the same JSON body; both answers are never cached.
 */
export function createHealthController(path: string): Type {
  @Controller(path)
  class ReliabilityHealthController {
    constructor(@Inject(ReliabilityHealthService) private readonly health: ReliabilityHealthService) {}

    /** 200 while the process is not stuck, during a normal shutdown too. */
    @Get('live')
    @Header('Cache-Control', 'no-store')
    live(): HealthReport {
      return orUnavailable(this.health.liveness());
    }

    /** 503 from the shutdown signal on, while a critical circuit is open, or when the database check fails. */
    @Get('ready')
    @Header('Cache-Control', 'no-store')
    async ready(): Promise<HealthReport> {
      return orUnavailable(await this.health.readiness());
    }
  }
  return ReliabilityHealthController;
}

function orUnavailable(report: HealthReport): HealthReport {
  if (report.status !== 'ok') throw new ServiceUnavailableException(report);
  return report;
}
