#!/usr/bin/env node
// npm run pack:all — an npm tarball of every publishable package (the runtime libraries, each tool
// and the umbrella) in dist-packages/, after checking that each holds what it must run without a
// build step: JavaScript, and for tools their compiled BPF objects; that its "dependencies" are
// exactly the packages its shipped files load (what esbuild bundled at build time is a
// devDependency: users do not download it); that a package shipping BPF objects declares the
// CPUs they were built for (every one of libs/core's ARCHES); and that every package claims the Node.js the tests run the tools on
// (engines ">=X.Y", where X.Y is scripts/node18.mjs' version).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE18 } from './node18.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { ARCHES, archObjectName } = await import(join(root, 'libs', 'core', 'dist', 'arch.js'));
const { specModule } = await import(join(root, 'libs', 'cli', 'dist', 'spec-module.js'));
const out = join(root, 'dist-packages');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const engines = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node;
if (engines !== `>=${NODE18.split('.').slice(0, 2).join('.')}`) {
  console.error(`pack: package.json says engines ${engines}, but the tests run the tools on Node ${NODE18} (scripts/node18.mjs): make them agree`);
  process.exit(1);
}

const dirs = [
  ...['core', 'format', 'runtime', 'metrics', 'cli', 'symbols', 'flame', 'stacks'].map((l) => `libs/${l}`),
  ...readdirSync(join(root, 'tools')).sort().map((t) => `tools/${t}`),
];
for (const d of dirs) {
  const pkg = JSON.parse(readFileSync(join(root, d, 'package.json'), 'utf8'));
  if (pkg.private) continue;
  const json = execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: join(root, d), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [info] = JSON.parse(json);
  const files = info.files.map((f) => f.path);
  // the option table --help, man and completion read (libs/cli's specModule: the tool's descriptor)
  const spec = pkg.name === '@bpf-recipes/umbrella' ? [] : [`dist/src/${specModule((f) => files.includes(`dist/src/${f}`))}`];
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
  const problem =
    (pkg.engines?.node !== engines ? `"engines": { "node": "${engines}" } needed (has ${JSON.stringify(pkg.engines)})` : undefined) ??
    dependencyProblem(pkg, d, files) ??
    cpuProblem(pkg, files);
  if (problem) {
    console.error(`pack: ${pkg.name}: ${problem}`);
    process.exit(1);
  }
  console.log(`pack: ${info.filename} (${files.length} files, ${(info.size / 1024).toFixed(0)} KiB)`);
}

/**
 * The packages a package's shipped JavaScript loads at run time (import/require of a bare name, and
 * createRequire(...)('name')), against its "dependencies". @bpf-recipes packages may be loaded by
 * a computed name (the umbrella runs its tools), so only the other direction is checked for them.
 */
function dependencyProblem(pkg, dir, files) {
  const builtins = new Set(builtinModules);
  const loaded = new Set();
  const load = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*|\bcreateRequire\)?\([^()]*\)\s*\(\s*)["'](@?[a-z0-9][\w.@/-]*)["']/g;
  for (const f of files.filter((f) => /\.(c|m)?js$/.test(f))) {
    for (const [, spec] of readFileSync(join(root, dir, f), 'utf8').matchAll(load)) {
      if (spec.startsWith('node:') || builtins.has(spec.split('/')[0])) continue;
      loaded.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
    }
  }
  loaded.delete(pkg.name);
  // an optional peer (@bpf-recipes/metrics, loaded only for --metrics) is declared too
  const deps = Object.keys(pkg.dependencies ?? {});
  const peers = Object.keys(pkg.peerDependencies ?? {});
  const undeclared = [...loaded].filter((n) => !deps.includes(n) && !peers.includes(n));
  if (undeclared.length) return `its shipped files load ${undeclared.join(', ')}, missing from "dependencies"`;
  const unused = deps.filter((n) => !n.startsWith('@bpf-recipes/') && !loaded.has(n));
  if (unused.length) return `no shipped file loads ${unused.join(', ')} (bundled at build time?): make ${unused.length > 1 ? 'them devDependencies' : 'it a devDependency'}, so that users do not download ${unused.length > 1 ? 'them' : 'it'}`;
  return undefined;
}

/**
 * A tool ships one BPF object per architecture (scripts/build-bpf.mjs, libs/core's ARCHES): its
 * "cpu" must name exactly those, and every object must be there.
 */
function cpuProblem(pkg, files) {
  const objects = files.filter((f) => f.endsWith('.bpf.o'));
  if (!objects.length) return undefined;
  const want = ARCHES.map((a) => a.node);
  if (JSON.stringify(pkg.cpu) !== JSON.stringify(want)) return `ships BPF objects for ${want.join(', ')}, so its package.json needs "cpu": ${JSON.stringify(want)} (has ${JSON.stringify(pkg.cpu)})`;
  const names = new Set(objects.map((f) => f.replace(/\.[^./]+\.bpf\.o$/, '.bpf.o')));
  const lacking = [...names].flatMap((n) => ARCHES.map((a) => archObjectName(n, a.target))).filter((f) => !files.includes(f));
  if (lacking.length) return `lacks ${lacking.join(', ')} (run npm run build)`;
  return undefined;
}
