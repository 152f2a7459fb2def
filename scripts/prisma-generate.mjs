// Generates the Prisma client of prisma/schema.prisma (used by the tests and the demo, never by the
// library) when it is missing or older than the schema. Run by `npm run typecheck` (pretypecheck),
// `npm start` (prestart) and the integration tests' global setup, so a fresh clone needs no
// postinstall step (npm 11 runs no install scripts of dependencies).
//
// `prisma generate` does not use the schema engine, but the CLI still tries to download it first;
// pointing PRISMA_SCHEMA_ENGINE_BINARY at any executable skips that download, so this works offline.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schema = join(root, 'prisma', 'schema.prisma');
const output = join(root, 'test', 'generated', 'prisma');
const stamp = join(output, '.schema-hash');
const require = createRequire(import.meta.url);
const prismaVersion = JSON.parse(readFileSync(require.resolve('prisma/package.json'), 'utf8')).version;

const hash = createHash('sha256')
  .update(readFileSync(schema))
  .update(`prisma@${prismaVersion}`)
  .digest('hex');

const fresh =
  existsSync(join(output, 'client.ts')) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash;

if (fresh) {
  if (process.argv.includes('--verbose')) console.log('prisma client is up to date');
} else {
  const cli = join(dirname(require.resolve('prisma/package.json')), 'build', 'index.js');
  execFileSync(process.execPath, [cli, 'generate', '--schema', schema], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || process.execPath,
      CHECKPOINT_DISABLE: '1',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
    },
  });
  writeFileSync(stamp, hash + '\n');
}
