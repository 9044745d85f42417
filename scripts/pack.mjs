#!/usr/bin/env node
// npm run pack:all — an npm tarball of every publishable package (the runtime libraries, each tool
// and the umbrella) in dist-packages/, after checking that each holds what it must run without a
// build step: JavaScript, and for tools their compiled BPF objects.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist-packages');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const dirs = [
  ...['core', 'format', 'cli'].map((l) => `libs/${l}`),
  ...readdirSync(join(root, 'tools')).sort().map((t) => `tools/${t}`),
];
for (const d of dirs) {
  const pkg = JSON.parse(readFileSync(join(root, d, 'package.json'), 'utf8'));
  if (pkg.private) continue;
  const json = execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: join(root, d), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [info] = JSON.parse(json);
  const files = info.files.map((f) => f.path);
  const spec = pkg.name === '@bpf-recipes/umbrella' ? [] : ['dist/src/spec.js'];
  const need = d.startsWith('tools/')
    ? ['dist/src/main.js', 'dist/src/main.cjs', ...spec, ...Object.values(pkg.bin)]
    : ['dist/index.js', 'dist/index.cjs'];
  if (d.startsWith('tools/')) need.push(files.find((f) => /^dist\/bpf\/.+\.bpf\.o$/.test(f)) ?? 'dist/bpf/*.bpf.o');
  const missing = need.filter((f) => !files.includes(f));
  if (missing.length) {
    console.error(`pack: ${pkg.name} lacks ${missing.join(', ')} (run npm run build first)`);
    process.exit(1);
  }
  if (files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))) {
    console.error(`pack: ${pkg.name} would ship TypeScript sources`);
    process.exit(1);
  }
  console.log(`pack: ${info.filename} (${files.length} files, ${(info.size / 1024).toFixed(0)} KiB)`);
}
