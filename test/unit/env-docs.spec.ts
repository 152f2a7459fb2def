import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_SECTIONS } from '../../src/config/reliability-config';

const root = join(__dirname, '..', '..');
const fields = Object.entries(CONFIG_SECTIONS).flatMap(([section, list]) =>
  list.map((f) => ({ section, ...f })),
);

describe('documentation of the environment', () => {
  const envExample = readFileSync(join(root, '.env.example'), 'utf8');
  const readme = readFileSync(join(root, 'README.md'), 'utf8');

  it.each(fields.map((f) => [f.env, f]))('.env.example sets %s to its default', (_name, f) => {
    expect(envExample).toContain(`\n${f.env}=${String(f.default)}\n`);
  });

  it.each(fields.map((f) => [f.env, f]))('the README table documents %s with its default', (_name, f) => {
    expect(readme).toContain(`| \`${f.env}\` | \`${String(f.default)}\` | \`${f.section}.${f.key}\` |`);
  });
});
