import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A stand-in for an LLM provider on 127.0.0.1, so the demo needs no network: it answers like an
 * overloaded provider would, with 529 (and `retry-after-ms`) or 429 (and `Retry-After`) some of the time.
 * `POST /outage` toggles a full outage, to watch the circuit open and recover.
 */
export interface FakeLlm {
  url: string;
  close(): Promise<void>;
}

export async function startFakeLlm(failureRate = 0.3): Promise<FakeLlm> {
  let outage = false;
  let calls = 0;
  const server: Server = createServer((req, res) => {
    if (req.url === '/outage' && req.method === 'POST') {
      outage = !outage;
      res.end(JSON.stringify({ outage }));
      return;
    }
    calls++;
    if (outage) {
      res.writeHead(503).end(JSON.stringify({ error: { type: 'overloaded_error' } }));
    } else if (calls % 7 === 0) {
      res.writeHead(429, { 'retry-after': '1' }).end(JSON.stringify({ error: { type: 'rate_limit_error' } }));
    } else if (calls % Math.max(2, Math.round(1 / failureRate)) === 0) {
      res
        .writeHead(529, { 'retry-after-ms': '50' })
        .end(JSON.stringify({ error: { type: 'overloaded_error' } }));
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ content: [{ type: 'text', text: `Summary #${calls}: the task looks fine.` }] }),
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
