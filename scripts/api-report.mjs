// The public API report: api/*.api.md lists every exported name and signature of the two entry
// points. `npm test` runs this in check mode and fails when the declarations no longer match the
// committed report, so a change of the public surface is always a reviewed diff of api/.
// `npm run api:update` rewrites the reports after an intended change.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const update = process.argv.includes('--update');
const dts = join(root, '.tmp', 'api-dts');

rmSync(dts, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [
    require.resolve('typescript/bin/tsc'),
    '-p',
    join(root, 'tsconfig.build.json'),
    '--emitDeclarationOnly',
    '--outDir',
    dts,
  ],
  { cwd: root, stdio: 'inherit' },
);

const { Extractor, ExtractorConfig } = require('@microsoft/api-extractor');
let failed = false;
for (const file of ['api-extractor.json', 'api-extractor.testing.json']) {
  const config = ExtractorConfig.loadFileAndPrepare(join(root, 'api', file));
  const result = Extractor.invoke(config, { localBuild: update, showVerboseMessages: false });
  if (!result.succeeded || result.warningCount > 0) {
    failed = true;
    const report = config.reportFilePath.slice(root.length + 1);
    console.error(
      result.apiReportChanged
        ? `api: the public API of ${report} changed. If intended, run \`npm run api:update\` and commit the diff.`
        : `api: ${report}: ${result.errorCount} errors, ${result.warningCount} warnings (above).`,
    );
  }
}
process.exit(failed ? 1 : 0);
