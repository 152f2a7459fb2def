/**
 * A client that leaves while its pipelined request waits behind another: the queued response has
 * no socket yet, so its own `close` never fires; the route must still abandon the call. And a
 * keep-alive socket serving many requests must not collect a listener per request.
 */
import { Controller, Get, INestApplication, Req } from '@nestjs/common';
import { Agent, get } from 'node:http';
import { connect, Socket } from 'node:net';
import { CircuitBreakerService } from '../../src/circuit-breaker/circuit-breaker.service';
import { ResilienceInterceptor, UseResilience } from '../../src/resilience';
import { RESILIENCE_ADAPTERS, startResilienceApp, type AdapterName } from '../support/resilience-app';

let entered = 0;
const hang = () => {
  entered++;
  return new Promise<never>(() => undefined);
};
const sockets = new Set<Socket>();

@Controller('pipe')
class PipelinedController {
  @Get('first')
  @UseResilience({ circuitName: 'pipe-first', timeoutMs: 0 })
  first(): Promise<never> {
    return hang();
  }

  @Get('second')
  @UseResilience({ circuitName: 'pipe-second', timeoutMs: 0 })
  second(): Promise<never> {
    return hang();
  }

  @Get('ok')
  @UseResilience({ circuitName: 'pipe-ok' })
  ok(@Req() req: { socket?: Socket; raw?: { socket: Socket } }): string {
    sockets.add((req.raw?.socket ?? req.socket)!);
    return 'ok';
  }
}

/** Polls `check` on real time (an HTTP round trip), failing after 5 s. */
async function until(check: () => boolean): Promise<void> {
  const end = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each(RESILIENCE_ADAPTERS)('pipelined and keep-alive requests over %s', (adapter: AdapterName) => {
  let app: INestApplication;
  let url: string;
  beforeEach(async () => {
    entered = 0;
    sockets.clear();
    ({ app, url } = await startResilienceApp(adapter, [PipelinedController]));
  });
  let closed = false;
  afterEach(async () => {
    if (!closed) await app.close();
    closed = false;
  });

  it('abandons a queued pipelined request whose client left: nothing stays in its circuit', async () => {
    const breakers = app.get(CircuitBreakerService);
    const routes = app.get(ResilienceInterceptor);
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /pipe/first HTTP/1.1\r\nHost: x\r\n\r\nGET /pipe/second HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => entered === 2);
    expect(breakers.getCircuitMetrics('pipe-second')?.inFlight).toBe(1);
    socket.destroy();
    await until(
      () =>
        breakers.getCircuitMetrics('pipe-first')?.inFlight === 0 &&
        breakers.getCircuitMetrics('pipe-second')?.inFlight === 0,
    );
    expect(routes.getResilienceMetrics('pipe-first')).toMatchObject({ abandoned: 1 });
    expect(routes.getResilienceMetrics('pipe-second')).toMatchObject({ abandoned: 1 });
    expect(breakers.getCircuitMetrics('pipe-second')).toMatchObject({ failures: 0, state: 'CLOSED' });
    // The shutdown drain does not wait for the queued request either (it would until its grace period).
    const started = Date.now();
    closed = true;
    await app.close();
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('adds no listener per request to a keep-alive socket (200 requests)', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const counts: number[] = [];
      for (let i = 0; i < 200; i++) {
        await new Promise<void>((resolve, reject) =>
          get(`${url}/pipe/ok`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve());
          }).on('error', reject),
        );
        if (i === 9 || i === 199) counts.push([...sockets][0].listenerCount('close'));
      }
      expect(sockets.size).toBe(1);
      expect(counts[1]).toBe(counts[0]);
    } finally {
      agent.destroy();
    }
  });

  it('removes the listener of each queued response once it is answered (200 pipelined requests)', async () => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    try {
      await new Promise((resolve) => socket.once('connect', resolve));
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      const answered = () => received.split('HTTP/1.1 200').length - 1;
      socket.write('GET /pipe/ok HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => answered() === 1);
      const server = [...sockets][0];
      const before = server.listenerCount('close');
      // However deep the pipeline, the queued responses share one listener on the socket.
      let most = before;
      const on = server.on.bind(server);
      server.on = ((event: string, listener: (...args: unknown[]) => void) => {
        const result = on(event, listener);
        if (event === 'close') most = Math.max(most, server.listenerCount('close'));
        return result;
      }) as typeof server.on;
      socket.write('GET /pipe/ok HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(200));
      await until(() => answered() === 201);
      server.on = on;
      expect(server.listenerCount('close')).toBe(before);
      expect(most).toBeLessThanOrEqual(before + 2); // ours, and the one Node keeps for the response it is writing
    } finally {
      socket.destroy();
    }
  });
});
