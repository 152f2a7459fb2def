/**
 * Writes `.env.example` from the config field tables, and prints the README's env table.
 * Run: `node -r ts-node/register/transpile-only scripts/env-docs.ts [--readme]`.
 * A unit test checks that both documents list every variable with its default.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_SECTIONS } from '../src/config/reliability-config';

const TITLES: Record<string, string> = {
  circuitBreaker: 'Circuit breaker (CircuitBreakerService, @UseResilience)',
  retry: 'Retry (RetryService)',
  shutdown: 'Graceful shutdown (ShutdownService)',
  database: 'Database (DatabaseService)',
};

function envExample(): string {
  const lines = [
    '# nestjs-reliability: every variable, with its default. All are optional.',
    '# Precedence: ReliabilityModule.forRoot() options, then these variables',
    '# (through ConfigService when the app imports ConfigModule, else process.env), then the defaults.',
    '',
  ];
  for (const [section, fields] of Object.entries(CONFIG_SECTIONS)) {
    lines.push(`# --- ${TITLES[section]} ---`);
    for (const f of fields) lines.push(`# ${f.description}`, `${f.env}=${String(f.default)}`);
    lines.push('');
  }
  return lines.join('\n');
}

function readmeTable(): string {
  const rows = ['| variable | default | `forRoot` option | meaning |', '| --- | --- | --- | --- |'];
  for (const [section, fields] of Object.entries(CONFIG_SECTIONS)) {
    for (const f of fields) {
      rows.push(`| \`${f.env}\` | \`${String(f.default)}\` | \`${section}.${f.key}\` | ${f.description} |`);
    }
  }
  return rows.join('\n');
}

if (process.argv.includes('--readme')) {
  console.log(readmeTable());
} else {
  writeFileSync(join(__dirname, '..', '.env.example'), envExample());
  console.log('wrote .env.example');
}
