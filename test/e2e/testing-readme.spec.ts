/**
 * The examples of docs/testing.md, as they are printed there (docs/testing.md imports from
 * 'nestjs-reliability' and 'nestjs-reliability/testing'; here the same names come from src/).
 */
import { Controller, Get, INestApplication, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { PrismaPg } from '@prisma/adapter-pg';
import request from 'supertest';
import { CircuitBreakerService } from '../../src/circuit-breaker';
import { ResilienceSignal, UseResilience } from '../../src/resilience';
import { FakeClock, ReliabilityTestingModule } from '../../src/testing';
import { PrismaClient } from '../generated/prisma/client';
import { freePort } from '../support/free-port';

// --- docs/testing.md: the app under test ----------------------------------------------------
@Injectable()
export class QuotesClient {
  async list(_signal: AbortSignal): Promise<{ quotes: string[] }> {
    throw new Error('the real client calls the quotes API');
  }
}

@Controller('quotes')
export class QuotesController {
  constructor(private readonly quotes: QuotesClient) {}

  @Get()
  @UseResilience({
    retry: 'HTTP',
    circuitName: 'quotes',
    circuit: { volumeThreshold: 4, resetTimeout: 30_000 },
  })
  list(@ResilienceSignal() signal: AbortSignal) {
    return this.quotes.list(signal);
  }
}

/** A stand-in for the quotes API: down for the next `failures` calls. */
class FlakyQuotes extends QuotesClient {
  calls = 0;
  failures = 0;

  override async list(): Promise<{ quotes: string[] }> {
    this.calls++;
    if (this.failures > 0) {
      this.failures--;
      throw new ServiceUnavailableException('quotes API down');
    }
    return { quotes: ['ACME 42'] };
  }
}
// --- end of the app -------------------------------------------------------------------------

// --- docs/testing.md: a unit test, without ReliabilityModule --------------------------------
describe('QuotesController (unit)', () => {
  it('answers without ReliabilityModule', async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [QuotesController],
      providers: [{ provide: QuotesClient, useClass: FlakyQuotes }],
    }).compile();
    const app = await moduleRef.createNestApplication().init();
    await request(app.getHttpServer())
      .get('/quotes')
      .expect(200, { quotes: ['ACME 42'] });
    await app.close();
  });
});

// --- docs/testing.md: an integration test, with ReliabilityTestingModule --------------------
describe('QuotesController (integration)', () => {
  let app: INestApplication;
  let clock: FakeClock;
  let quotes: FlakyQuotes;

  beforeEach(async () => {
    quotes = new FlakyQuotes();
    const moduleRef = await Test.createTestingModule({
      imports: [ReliabilityTestingModule.forRoot()],
      controllers: [QuotesController],
      providers: [{ provide: QuotesClient, useValue: quotes }],
    }).compile();
    app = await moduleRef.createNestApplication().init();
    clock = app.get(FakeClock);
  });

  afterEach(() => app.close());

  it('retries three times, with no real wait', async () => {
    quotes.failures = 3;
    // Moves the fake clock until the response is in: 1.75 s of backoffs take a few ms.
    const res = await clock.advanceUntilSettled(request(app.getHttpServer()).get('/quotes'));
    expect(res.status).toBe(200);
    expect(quotes.calls).toBe(4);
  });

  it('opens the circuit, then half-opens after resetTimeout', async () => {
    const breakers = app.get(CircuitBreakerService);
    quotes.failures = 4;
    const failed = await clock.advanceUntilSettled(request(app.getHttpServer()).get('/quotes'));
    expect(failed.status).toBe(503);
    expect(breakers.getState('quotes')).toBe('OPEN');
    await request(app.getHttpServer()).get('/quotes').expect(503).expect('Retry-After', '30');
    expect(quotes.calls).toBe(4);

    await clock.advance(30_000);
    expect(breakers.getState('quotes')).toBe('HALF_OPEN');
    await request(app.getHttpServer()).get('/quotes').expect(200);
    expect(breakers.getState('quotes')).toBe('CLOSED');
  });
});

// --- README: a database that is down at init() ----------------------------------------------
describe('the app with a database that is down at init()', () => {
  let url: string;
  // The README's URL names a port where nothing listens; here, one just released by the OS.
  beforeAll(async () => (url = `postgresql://app@127.0.0.1:${await freePort()}/app`));

  it('does not boot while the database is down', async () => {
    const adapter = new PrismaPg({ connectionString: url });
    const moduleRef = await Test.createTestingModule({
      imports: [
        ReliabilityTestingModule.forRoot({ database: { client: () => new PrismaClient({ adapter }) } }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication();
    // init() retries the connect for database.connectTimeout (30 s) of fake time: move the clock meanwhile.
    await expect(app.get(FakeClock).advanceUntilSettled(app.init())).rejects.toThrow(
      'Could not connect to the database',
    );
  });
});
