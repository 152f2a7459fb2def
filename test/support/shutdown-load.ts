/**
 * A bounded keep-alive HTTP load for the shutdown tests: `concurrency` loops, each sending one
 * request at a time over a shared keep-alive agent, up to `maxRequests`. Every response and error
 * is recorded; nothing is retried, so a dropped request shows up as a failure.
 */
import { Agent, IncomingHttpHeaders, request } from 'node:http';

export interface Outcome {
  status?: number;
  error?: string;
  /** `Date.now()` when the response ended (or the error came). */
  at: number;
  /** The `connection` response header. */
  connection?: string;
  headers?: IncomingHttpHeaders;
  body?: string;
}

/** One GET to 127.0.0.1, bounded by `timeoutMs`. Never rejects. */
export function get(port: number, path: string, agent: Agent | false, timeoutMs = 10_000): Promise<Outcome> {
  return send('GET', port, path, agent, timeoutMs);
}

/** One request to 127.0.0.1 (a POST carries a small JSON body), bounded by `timeoutMs`. Never rejects. */
export function send(
  method: 'GET' | 'POST',
  port: number,
  path: string,
  agent: Agent | false,
  timeoutMs = 10_000,
): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (o: Omit<Outcome, 'at'>): void => {
      if (settled) return;
      settled = true;
      resolve({ ...o, at: Date.now() });
    };
    const body = method === 'POST' ? '{"n":1}' : undefined;
    const headers = body
      ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
      : {};
    const req = request({ host: '127.0.0.1', port, path, method, agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        finish({
          status: res.statusCode,
          connection: res.headers.connection,
          headers: res.headers,
          body: body.slice(0, 500),
        }),
      );
      res.on('error', (e) => finish({ status: res.statusCode, error: String(e) }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => finish({ error: e.code ?? e.message }));
    req.end(body);
  });
}

export interface LoadReport {
  sent: number;
  ok: number;
  /** Responses other than 2xx, and errors. */
  failures: Outcome[];
  statuses: Record<string, number>;
}

export class KeepAliveLoad {
  readonly agent: Agent;
  private stopped = false;
  private sent = 0;
  private readonly outcomes: Outcome[] = [];
  private loops: Promise<void>[] = [];

  constructor(
    private readonly port: () => number,
    private readonly path: string,
    private readonly concurrency: number,
    private readonly maxRequests: number,
    private readonly method: 'GET' | 'POST' = 'GET',
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  }

  start(): this {
    this.loops = Array.from({ length: this.concurrency }, () => this.loop());
    return this;
  }

  /** Stops sending new requests; resolves once those in flight are answered. */
  async stop(): Promise<LoadReport> {
    this.stopped = true;
    await Promise.all(this.loops);
    this.agent.destroy();
    return this.report();
  }

  /** Responses per `pid` field of a JSON body (the fixture app answers with its pid). */
  pids(): Map<number, number> {
    const pids = new Map<number, number>();
    for (const o of this.outcomes) {
      const match = o.body && /"pid":(\d+)/.exec(o.body);
      if (match) pids.set(Number(match[1]), (pids.get(Number(match[1])) ?? 0) + 1);
    }
    return pids;
  }

  report(): LoadReport {
    const failures = this.outcomes.filter((o) => o.status === undefined || o.status < 200 || o.status >= 300);
    const statuses: Record<string, number> = {};
    for (const o of this.outcomes) {
      const key = o.status !== undefined ? String(o.status) : (o.error ?? 'error');
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
    return { sent: this.sent, ok: this.outcomes.length - failures.length, failures, statuses };
  }

  private async loop(): Promise<void> {
    while (!this.stopped && this.sent < this.maxRequests) {
      this.sent++;
      this.outcomes.push(await send(this.method, this.port(), this.path, this.agent));
    }
  }
}

/** Polls `path` every `intervalMs` on fresh connections until stopped; records each status (or error). */
export function pollStatus(
  port: number,
  path: string,
  intervalMs: number,
  onResult: (o: Outcome) => void,
): () => Promise<void> {
  let stopped = false;
  const run = (async () => {
    while (!stopped) {
      onResult(await get(port, path, false, 2_000));
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return async () => {
    stopped = true;
    await run;
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
