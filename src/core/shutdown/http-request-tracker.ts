/**
 * Tracks requests and connections of a Node HTTP server, below Express or Fastify (both use
 * `http.Server`), and drains it:
 *
 * - stops accepting connections, without Node's own `server.close()` behaviour of destroying every
 *   idle keep-alive socket at once (a client, or a proxy, that is just reusing one gets ECONNRESET);
 * - answers `Connection: close` on every response not yet started, so each keep-alive connection
 *   is closed by its own last response, as it goes idle, and the client knows not to reuse it;
 * - closes a connection that stays idle only once it has been idle for `idleLingerMs`, each on its
 *   own schedule: a connection a client is still using gets its next request answered (with
 *   `Connection: close`) instead of reset; a proxy reuses its most recent connections first, so the
 *   ones left idle that long are the ones it is least likely to pick at that moment;
 * - at the deadline, closes the connections that still have a request in flight and counts them.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { Clock, TimerHandle } from '../common/clock.js';
import type { DrainOptions, DrainTarget } from './coordinator.js';

interface SocketState {
  /** Its requests in flight: more than one when pipelined. */
  readonly requests: Set<InFlight>;
  /** When the last request on it finished (or it connected), in clock ms. */
  idleSince: number;
  closeTimer?: TimerHandle;
}

interface InFlight {
  readonly socket: Socket;
  readonly res: ServerResponse;
  cut: boolean;
  /** Ends the request's tracking (its response finished or closed, or its socket closed). */
  done?: () => void;
}

/** A {@link DrainTarget} over one `http.Server` (or `https.Server`). */
export class HttpRequestTracker implements DrainTarget {
  private readonly sockets = new Map<Socket, SocketState>();
  private readonly active = new Set<InFlight>();
  private idleWaiters: Array<() => void> = [];
  private draining = false;
  private idleLingerMs = 0;
  private drained = 0;
  private cutCount = 0;
  private total = 0;
  private readonly connectionEvent: string;

  constructor(
    private readonly server: Server,
    // Required: under ReliabilityTestingModule the idle linger must follow the fake clock.
    private readonly clock: Clock,
  ) {
    // For TLS the raw 'connection' socket is not the one requests arrive on.
    this.connectionEvent = server instanceof TlsServer ? 'secureConnection' : 'connection';
  }

  /** Starts listening to the server's events; returns the detach function. */
  attach(): () => void {
    this.server.on(this.connectionEvent, this.onConnection);
    // First in line, so that `Connection: close` is set before the framework writes anything.
    this.server.prependListener('request', this.onRequest);
    return () => {
      this.server.off(this.connectionEvent, this.onConnection);
      this.server.off('request', this.onRequest);
    };
  }

  inFlight(): number {
    return this.active.size;
  }

  counts(): { drained: number; cut: number; total: number } {
    return { drained: this.drained, cut: this.cutCount, total: this.total };
  }

  /** Open connections (idle or busy), for tests. */
  openConnections(): number {
    return this.sockets.size;
  }

  startDrain(options: DrainOptions = { idleLingerMs: 0 }): void {
    if (this.draining) return;
    this.draining = true;
    this.idleLingerMs = Math.max(0, options.idleLingerMs);
    // net.Server#close stops accepting and keeps open connections (http.Server#close would
    // also destroy every idle keep-alive socket at once).
    if (this.server.listening) NetServer.prototype.close.call(this.server);
    for (const request of this.active) closeAfterResponse(request.res);
    for (const [socket, state] of this.sockets) {
      if (state.requests.size === 0) this.closeWhenIdleLongEnough(socket, state);
    }
  }

  /** Resolves when, after the drain began, no request is in flight and no connection is open. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  cut(): number {
    let cut = 0;
    for (const request of [...this.active]) {
      if (request.cut) continue;
      request.cut = true;
      cut++;
      this.cutCount++;
      request.socket.destroy();
    }
    return cut;
  }

  /** Closes every connection left (the idle ones still lingering, at the deadline). */
  finish(): void {
    for (const [socket, state] of this.sockets) {
      if (state.closeTimer !== undefined) this.clock.clearTimer(state.closeTimer);
      state.closeTimer = undefined;
      socket.destroy();
    }
  }

  private isIdle(): boolean {
    return this.active.size === 0 && (!this.draining || this.sockets.size === 0);
  }

  /** During the drain: destroys an idle connection once it has been idle for `idleLingerMs`. */
  private closeWhenIdleLongEnough(socket: Socket, state: SocketState): void {
    if (state.closeTimer !== undefined) return;
    const left = state.idleSince + this.idleLingerMs - this.clock.now();
    if (left <= 0) {
      socket.destroy();
      return;
    }
    state.closeTimer = this.clock.setTimer(() => {
      state.closeTimer = undefined;
      if (state.requests.size === 0) socket.destroy();
    }, left);
  }

  private track(socket: Socket): SocketState {
    let state = this.sockets.get(socket);
    if (!state) {
      const tracked: SocketState = { requests: new Set(), idleSince: this.clock.now() };
      state = tracked;
      this.sockets.set(socket, tracked);
      socket.once('close', () => {
        if (tracked.closeTimer !== undefined) this.clock.clearTimer(tracked.closeTimer);
        this.sockets.delete(socket);
        // A pipelined request queued behind another has no socket on its response yet: when the
        // client leaves, that response never closes, and only its socket says it is over. Only
        // this socket's requests are visited: many clients leaving at once stay linear.
        if (tracked.requests.size > 0) {
          for (const request of [...tracked.requests]) request.done?.();
        }
        if (this.isIdle()) this.notifyIdle();
      });
      if (this.draining) this.closeWhenIdleLongEnough(socket, tracked);
    }
    return state;
  }

  private readonly onConnection = (socket: Socket): void => {
    this.track(socket);
  };

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket;
    const state = this.track(socket);
    const request: InFlight = { socket, res, cut: false };
    state.requests.add(request);
    if (state.closeTimer !== undefined) this.clock.clearTimer(state.closeTimer);
    state.closeTimer = undefined;
    this.total++;
    this.active.add(request);
    if (this.draining) closeAfterResponse(res);
    let done = false;
    const onDone = (): void => {
      if (done) return;
      done = true;
      state.requests.delete(request);
      state.idleSince = this.clock.now();
      this.active.delete(request);
      if (this.draining && !request.cut) {
        this.drained++;
        // Headers sent before the drain began promised keep-alive: close once the response is out.
        if (state.requests.size === 0 && !socket.destroyed) socket.end();
      }
      if (this.isIdle()) this.notifyIdle();
    };
    request.done = onDone;
    res.once('finish', onDone);
    res.once('close', onDone);
  };

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Makes Node close the connection after this response, when its headers are not out yet. */
function closeAfterResponse(res: ServerResponse): void {
  if (!res.headersSent) {
    res.setHeader('Connection', 'close');
    res.shouldKeepAlive = false;
  }
}
