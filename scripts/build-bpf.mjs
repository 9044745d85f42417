#!/usr/bin/env node
// Compile a tool's bpf/*.bpf.c to CO-RE objects (dist/bpf/) and generate their TypeScript view
// (src/generated/) from the objects' BTF. Run from the tool's directory (npm run build-bpf).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { arch } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tool = process.cwd();
const clang = process.env.CLANG ?? 'clang';
const strip = process.env.LLVM_STRIP ?? 'llvm-strip';
const targetArch = { x64: 'x86', arm64: 'arm64' }[arch()];
if (!targetArch) {
  console.error(`build-bpf: unsupported architecture ${arch()}`);
  process.exit(1);
}

const srcDir = join(tool, 'bpf');
const outDir = join(tool, 'dist', 'bpf');
const genDir = join(tool, 'src', 'generated');
mkdirSync(outDir, { recursive: true });

const sources = existsSync(srcDir) ? readdirSync(srcDir).filter((f) => f.endsWith('.bpf.c')) : [];
if (sources.length === 0) {
  console.error(`build-bpf: no bpf/*.bpf.c in ${tool}`);
  process.exit(1);
}
const run = (cmd, args) => {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (e) {
    if (e.code === 'ENOENT') console.error(`build-bpf: ${cmd} not found (apt-get install clang llvm libbpf-dev bpftool)`);
    process.exit(1);
  }
};
// inputs every object depends on besides its own source: a newer one means rebuild
const shared = [
  ...readdirSync(srcDir).filter((f) => f.endsWith('.h')).map((f) => join(srcDir, f)),
  ...readdirSync(join(root, 'libs', 'bpf-headers', 'include')).map((f) => join(root, 'libs', 'bpf-headers', 'include', f)),
  join(root, 'libs', 'codegen', 'dist', 'generate.js'),
  fileURLToPath(import.meta.url),
];
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);
const force = process.argv.includes('--force');

for (const src of sources) {
  const name = basename(src, '.bpf.c');
  const obj = join(outDir, `${name}.bpf.o`);
  const gen = join(genDir, `${name}.ts`);
  const newestInput = Math.max(mtime(join(srcDir, src)), ...shared.map(mtime));
  if (!force && Math.min(mtime(obj), mtime(gen)) > newestInput) continue; // up to date
  run(clang, [
    '-target', 'bpf', '-g', '-O2', '-Wall', '-Werror', '-Wno-unused-function',
    `-D__TARGET_ARCH_${targetArch}`,
    '-I', join(root, 'libs', 'bpf-headers', 'include'),
    '-I', srcDir,
    '-c', join(srcDir, src), '-o', obj,
  ]);
  run(strip, ['-g', obj]); // DWARF off, BTF stays
  run(process.execPath, [join(root, 'libs', 'codegen', 'dist', 'cli.js'), obj, join(genDir, `${name}.ts`)]);
  console.log(`build-bpf: ${basename(tool)}/${src} -> dist/bpf/${name}.bpf.o (${statSync(obj).size} bytes), src/generated/${name}.ts`);
}
