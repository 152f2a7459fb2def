/**
 * `npm run bench`: runs every benchmark file in this folder (`*.bench.ts`, each exporting
 * `run(): Promise<void>`), one after another in this process. Pass names to run a subset:
 * `npm run bench -- circuit-breaker`.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
    .sort();
  console.log(`# nestjs-reliability benchmarks\n\nnode ${process.version}, ${new Date().toISOString()}`);
  for (const file of files) {
    const mod = (await import(join(__dirname, file))) as { run(): Promise<void> };
    await mod.run();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
