/**
 * Child processes for the shutdown tests: a fixture app started with ts-node, its output, its
 * port and its exit. Everything is bounded in time; `kill()` ends a child left running.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');
/** ts-node with `.js` → `.ts` import mapping (the sources import with `.js`). */
const TS_NODE_PROJECT = resolve(ROOT, 'test/fixtures/shutdown-app/tsconfig.json');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** `performance.now()` at exit. */
  at: number;
}

export interface FixtureProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /** Lines of stdout so far. */
  lines(): string[];
  /** Resolves with the first stdout line matching `pattern`; rejects after `timeoutMs` or at exit. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Resolves when the process exits. */
  readonly exited: Promise<Exit>;
  /** Resolves with the exit, or rejects after `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<Exit>;
  /** SIGKILL, if still running. */
  kill(): void;
}

/** Starts `file` (relative to the repository root) with `env` added to the environment. */
export function startFixture(file: string, env: Record<string, string> = {}): FixtureProcess {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', resolve(ROOT, file)], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_PROJECT, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdoutBuffer = '';
  const stdoutLines: string[] = [];
  const lineWaiters = new Set<(line: string) => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    stdoutBuffer += chunk;
    let nl: number;
    while ((nl = stdoutBuffer.indexOf('\n')) >= 0) {
      const line = stdoutBuffer.slice(0, nl);
      stdoutBuffer = stdoutBuffer.slice(nl + 1);
      stdoutLines.push(line);
      for (const waiter of [...lineWaiters]) waiter(line);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  let exitInfo: Exit | undefined;
  const exited = new Promise<Exit>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal, at: performance.now() };
      resolveExit(exitInfo);
    });
  });

  const waitForLine = (pattern: RegExp, timeoutMs: number): Promise<string> => {
    const seen = stdoutLines.find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolveLine, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        lineWaiters.delete(onLine);
      };
      const onLine = (line: string): void => {
        if (pattern.test(line)) {
          done();
          resolveLine(line);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${out}`));
      }, timeoutMs);
      lineWaiters.add(onLine);
      void exited.then(() => {
        if (!lineWaiters.has(onLine)) return;
        done();
        reject(new Error(`exited before a line matching ${pattern}; output:\n${out}`));
      });
    });
  };

  const waitForExit = (timeoutMs: number): Promise<Exit> =>
    new Promise((resolveExit, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`still running after ${timeoutMs} ms; output:\n${out}`)),
        timeoutMs,
      );
      void exited.then((e) => {
        clearTimeout(timer);
        resolveExit(e);
      });
    });

  return {
    child,
    pid: child.pid!,
    output: () => out,
    lines: () => [...stdoutLines],
    waitForLine,
    exited,
    waitForExit,
    kill: () => {
      if (!exitInfo) child.kill('SIGKILL');
    },
  };
}

/** Starts the fixture app and waits for its port. */
export async function startApp(
  env: Record<string, string>,
  file = 'test/fixtures/shutdown-app/main.ts',
): Promise<{ app: FixtureProcess; port: number }> {
  const app = startFixture(file, env);
  try {
    const line = await app.waitForLine(/^READY \d+$/, 20_000);
    return { app, port: Number(line.split(' ')[1]) };
  } catch (error) {
    app.kill();
    throw error;
  }
}

/** The JSON printed on the `METRICS` line by the fixture's last cleanup task. */
export function metricsOf(app: FixtureProcess): any {
  const line = app.lines().find((l) => l.startsWith('METRICS '));
  if (!line) throw new Error(`no METRICS line; output:\n${app.output()}`);
  return JSON.parse(line.slice('METRICS '.length));
}
