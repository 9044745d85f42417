#!/usr/bin/env node
// Refresh the "## Usage" block of every tool README from the tool's own --help (run after a CLI change;
// a test fails when a README and --help disagree).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
for (const t of readdirSync(join(root, 'tools'))) {
  const readme = join(root, 'tools', t, 'README.md');
  const bin = join(root, 'tools', t, 'bin', `${t}.js`);
  if (!existsSync(readme) || !existsSync(bin) || t === 'bpf-recipes') continue;
  const help = execFileSync(bin, ['--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '100' } }).trimEnd();
  const s = readFileSync(readme, 'utf8');
  const next = s.replace(/(## Usage\n\n```\n)[\s\S]*?(\n```)/, (_, a, b) => `${a}${help}${b}`);
  if (next !== s) {
    writeFileSync(readme, next);
    console.log(`readme-help: ${t}/README.md updated`);
  }
}
