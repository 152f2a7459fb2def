/**
 * The HTTP drain on a real Node server on 127.0.0.1 (no Nest, no sleeps: every wait is an event,
 * and the idle linger runs on a fake clock).
 */
import { Agent, IncomingMessage, Server, ServerResponse, createServer, request } from 'node:http';
import { EventEmitter } from 'node:events';
import { AddressInfo, Socket, connect } from 'node:net';
import { FakeClock } from '../../src/core/common/clock';
import { HttpRequestTracker } from '../../src/core/shutdown/http-request-tracker';

interface Reply {
  status?: number;
  connection?: string;
  error?: string;
}

function get(port: number, path: string, agent: Agent): Promise<Reply> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end();
  });
}

describe('HttpRequestTracker', () => {
  let server: Server;
  let port: number;
  let tracker: HttpRequestTracker;
  let clock: FakeClock;
  let detach: () => void;
  let agent: Agent;
  /** Requests held open by the handler, answered by the test. */
  let held: Array<(status?: number) => void>;
  let arrived: Array<() => void>;

  const nextArrival = (): Promise<void> => new Promise((r) => arrived.push(r));

  beforeEach(async () => {
    held = [];
    arrived = [];
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/hold') {
        held.push((status = 200) => {
          res.statusCode = status;
          res.end('late');
        });
      } else {
        res.end('now');
      }
      arrived.shift()?.();
    });
    clock = new FakeClock();
    tracker = new HttpRequestTracker(server, clock);
    detach = tracker.attach();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    agent = new Agent({ keepAlive: true });
  });

  afterEach(async () => {
    agent.destroy();
    detach();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('counts requests in flight', async () => {
    const arrival = nextArrival();
    const reply = get(port, '/hold', agent);
    await arrival;
    expect(tracker.inFlight()).toBe(1);
    held[0]();
    expect((await reply).status).toBe(200);
    expect(tracker.inFlight()).toBe(0);
    expect(tracker.counts()).toEqual({ drained: 0, cut: 0, total: 1 });
  });

  const openSocket = async (): Promise<Socket> => {
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    // Wait until the server side saw it too.
    await new Promise<void>((r) => {
      const check = (): void => (tracker.openConnections() > 0 ? r() : void setImmediate(check));
      check();
    });
    return socket;
  };
  const closed = (socket: Socket): Promise<unknown> =>
    socket.destroyed ? Promise.resolve() : new Promise((r) => socket.once('close', r));

  it('drain: no new connections, in-flight requests finish with Connection: close, then idle', async () => {
    const arrival = nextArrival();
    const reply = get(port, '/hold', agent);
    await arrival;
    tracker.startDrain({ idleLingerMs: 1_000 });
    expect(server.listening).toBe(false);
    expect((await get(port, '/now', new Agent())).error).toBe('ECONNREFUSED');

    let idle = false;
    void tracker.whenIdle().then(() => (idle = true));
    held[0]();
    const r = await reply;
    expect(r).toEqual({ status: 200, connection: 'close' });
    // The response closed its own connection: nothing is left, without waiting for the linger.
    await tracker.whenIdle();
    expect(idle).toBe(true);
    expect(tracker.openConnections()).toBe(0);
    expect(tracker.counts()).toEqual({ drained: 1, cut: 0, total: 1 });
  });

  it('on a signal, an idle keep-alive connection is answered (with close) rather than reset, and closed after the linger', async () => {
    const used = await openSocket();
    const cold = await openSocket();
    tracker.startDrain({ idleLingerMs: 1_000 });
    await clock.advance(999);
    expect(used.destroyed).toBe(false);
    expect(cold.destroyed).toBe(false);

    // A request a client sends on an idle connection during the drain gets its answer.
    let raw = '';
    used.setEncoding('utf8').on('data', (c: string) => (raw += c));
    used.write('GET /now HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed(used); // closed by the server right after that response
    expect(raw).toMatch(/^HTTP\/1\.1 200/);
    expect(raw).toMatch(/Connection: close/i);

    // The connection nobody used is closed once idle for the linger, on its own.
    let idle = false;
    void tracker.whenIdle().then(() => (idle = true));
    await clock.advance(1);
    await closed(cold);
    await tracker.whenIdle();
    expect(idle).toBe(true);
    expect(tracker.counts().drained).toBe(1);
  });

  it('on app.close() (no linger), idle connections are closed at once', async () => {
    const socket = await openSocket();
    tracker.startDrain({ idleLingerMs: 0 });
    await closed(socket);
    await tracker.whenIdle();
    expect(tracker.openConnections()).toBe(0);
  });

  it('finish() closes the connections still lingering (the drain deadline)', async () => {
    const socket = await openSocket();
    tracker.startDrain({ idleLingerMs: 60_000 });
    expect(socket.destroyed).toBe(false);
    tracker.finish();
    await closed(socket);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('cut() closes connections with a request still in flight and counts them', async () => {
    const arrivals = [nextArrival(), nextArrival()];
    const a = get(port, '/hold', agent);
    const b = get(port, '/hold', agent);
    await Promise.all(arrivals);
    tracker.startDrain({ idleLingerMs: 0 });
    expect(tracker.cut()).toBe(2);
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.error).toMatch(/ECONNRESET|socket hang up/);
    expect(rb.error).toMatch(/ECONNRESET|socket hang up/);
    await tracker.whenIdle();
    expect(tracker.counts()).toEqual({ drained: 0, cut: 2, total: 2 });
  });

  it('detach() stops the tracking', async () => {
    detach();
    await get(port, '/now', agent);
    expect(tracker.counts().total).toBe(0);
  });
});

// Many long-held requests (SSE, long polls) whose clients leave at once: each socket's close must
// end its own requests without visiting everyone else's, or N closes cost N^2.
describe('HttpRequestTracker: a socket that closes with requests in flight', () => {
  interface FakeSocket extends EventEmitter {
    destroyed: boolean;
    destroy(): void;
    end(): void;
  }
  const fakeSocket = (): FakeSocket =>
    Object.assign(new EventEmitter(), {
      destroyed: false,
      destroy: () => undefined,
      end: () => undefined,
    });

  /** Entries yielded by every Set iterated while `fn` runs. */
  function setEntriesVisited(fn: () => void): number {
    const original = Set.prototype[Symbol.iterator];
    let visited = 0;
    Set.prototype[Symbol.iterator] = function (this: Set<unknown>) {
      const inner = original.call(this);
      return Object.assign(Object.create(inner) as typeof inner, {
        next: () => {
          const step = inner.next();
          if (step.done !== true) visited++;
          return step;
        },
      });
    };
    try {
      fn();
    } finally {
      Set.prototype[Symbol.iterator] = original;
    }
    return visited;
  }

  it('ends exactly its own requests (pipelined ones included), visiting no other', () => {
    const server = Object.assign(new EventEmitter(), { listening: false }) as unknown as Server;
    const tracker = new HttpRequestTracker(server, new FakeClock());
    tracker.attach();
    const open = (socket: FakeSocket): EventEmitter => {
      const res = Object.assign(new EventEmitter(), { headersSent: false, setHeader: () => undefined });
      server.emit('request', { socket }, res);
      return res;
    };
    const others = Array.from({ length: 2_000 }, () => {
      const socket = fakeSocket();
      server.emit('connection', socket);
      return { socket, res: open(socket) };
    });
    const leaving = fakeSocket();
    server.emit('connection', leaving);
    // The first is being answered; the two queued behind it have no socket and never close.
    for (let i = 0; i < 3; i++) open(leaving);
    expect(tracker.inFlight()).toBe(2_003);

    const visited = setEntriesVisited(() => {
      leaving.destroyed = true;
      leaving.emit('close');
    });

    expect(tracker.inFlight()).toBe(2_000);
    expect(visited).toBeLessThanOrEqual(3);
    // The others are still tracked, each until its own response ends.
    others[0].res.emit('finish');
    expect(tracker.inFlight()).toBe(1_999);
    expect(tracker.openConnections()).toBe(2_000);
  });
});
