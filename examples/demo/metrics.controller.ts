import { Controller, Get } from '@nestjs/common';
import {
  CircuitBreakerService,
  DatabaseService,
  ResilienceInterceptor,
  RetryService,
  ShutdownService,
} from '../../src';

/** Every metric the library keeps, as JSON. */
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly breaker: CircuitBreakerService,
    private readonly retry: RetryService,
    private readonly resilience: ResilienceInterceptor,
    private readonly shutdown: ShutdownService,
    private readonly db: DatabaseService,
  ) {}

  @Get()
  all() {
    return {
      circuits: this.breaker.getAllCircuitMetrics(),
      retries: this.retry.getAllRetryMetrics(),
      routes: this.resilience.getAllResilienceMetrics(),
      shutdown: this.shutdown.getShutdownMetrics(),
      database: this.db.getDatabaseMetrics(),
    };
  }
}
