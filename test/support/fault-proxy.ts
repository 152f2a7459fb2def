import { createConnection, createServer, Server, Socket } from 'node:net';
import { systemClock, TimerHandle } from '../../src/core/common/clock';

/** Counters of a {@link FaultProxy}. */
export interface FaultProxyStats {
  /** Connections accepted since start. */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Connections cut by {@link FaultProxy.dropConnections} or refused while refusing. */
  dropped: number;
  /** Bytes thrown away while blackholed. */
  blackholedBytes: number;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

/**
 * A TCP proxy on 127.0.0.1 between the app and PostgreSQL, for the faults a server restart cannot
 * produce: added latency, connections reset mid-query, and a blackhole (sockets stay open, bytes
 * vanish, nobody answers: what a dead host or a dropped route looks like).
 */
export class FaultProxy {
  private readonly pairs = new Set<Pair>();
  private latencyMs = 0;
  private blackholed = false;
  private refusing = false;
  private readonly timers = new Set<TimerHandle>();
  private readonly counters = { accepted: 0, dropped: 0, blackholedBytes: 0 };

  private readonly server: Server;
  /** The port the proxy listens on (127.0.0.1). */
  port = 0;

  private constructor(targetHost: string, targetPort: number) {
    this.server = createServer((client) => this.accept(client, targetHost, targetPort));
  }

  /** Starts a proxy to `targetPort` on 127.0.0.1, listening on a free port. */
  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
    const proxy = new FaultProxy(targetHost, targetPort);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = proxy.server.address();
    proxy.port = typeof address === 'object' && address ? address.port : 0;
    return proxy;
  }

  /** Delays every chunk, both ways, by `ms` (order is kept). */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** While on, bytes in both directions are dropped, and new connections hang the same way. */
  blackhole(on = true): void {
    this.blackholed = on;
  }

  /** While on, new connections are reset as soon as they arrive. */
  refuse(on = true): void {
    this.refusing = on;
  }

  /** Resets (RST) every open connection: clients see ECONNRESET mid-query. */
  dropConnections(): number {
    const count = this.pairs.size;
    for (const pair of [...this.pairs]) this.cut(pair);
    this.counters.dropped += count;
    return count;
  }

  /** Back to a transparent proxy (open connections are kept). */
  heal(): void {
    this.latencyMs = 0;
    this.blackholed = false;
    this.refusing = false;
  }

  stats(): FaultProxyStats {
    return { ...this.counters, open: this.pairs.size };
  }

  /** Stops listening and cuts every connection. */
  async close(): Promise<void> {
    for (const timer of this.timers) systemClock.clearTimer(timer);
    this.timers.clear();
    for (const pair of [...this.pairs]) this.cut(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, host: string, port: number): void {
    this.counters.accepted++;
    if (this.refusing) {
      this.counters.dropped++;
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host, port });
    const pair = { client, upstream };
    this.pairs.add(pair);
    this.pipe(client, upstream);
    this.pipe(upstream, client);
    let connected = false;
    upstream.once('connect', () => (connected = true));
    const done = (): void => {
      if (!this.pairs.delete(pair)) return;
      // The server refused: pass that on as a reset, as a refused connection looks to a client.
      if (connected) client.destroy();
      else client.resetAndDestroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', done);
      socket.on('close', done);
    }
  }

  /** Forwards `from` → `to`, through the current faults. */
  private pipe(from: Socket, to: Socket): void {
    let lastDue = 0;
    from.on('data', (chunk: Buffer) => {
      if (this.blackholed) {
        this.counters.blackholedBytes += chunk.length;
        return;
      }
      if (this.latencyMs <= 0 && lastDue <= systemClock.now()) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      // Never deliver before an earlier chunk, even if the latency was lowered in between.
      const due = Math.max(systemClock.now() + this.latencyMs, lastDue);
      lastDue = due;
      const timer = systemClock.setTimer(() => {
        this.timers.delete(timer);
        if (!to.destroyed) to.write(chunk);
      }, due - systemClock.now());
      this.timers.add(timer);
    });
    // A half-close is forwarded as is, unless blackholed (then the FIN is lost too).
    from.on('end', () => {
      if (!this.blackholed && !to.destroyed) to.end();
    });
  }

  private cut(pair: Pair): void {
    this.pairs.delete(pair);
    pair.client.resetAndDestroy();
    pair.upstream.resetAndDestroy();
  }
}
