#!/usr/bin/env node
// Compile a tool's bpf/*.bpf.c to CO-RE objects (dist/bpf/) and generate their TypeScript view
// (src/generated/) from the objects' BTF. Run from the tool's directory (npm run build-bpf); nx runs
// it as the `build-bpf` target, the one producer of dist/bpf/ and src/generated/.
//
// Decided by content, not by modification times (an nx cache restore or a checkout gives every file
// a new mtime): dist/bpf/NAME.bpf.deps.json records the hash of everything the last compile read
// (clang's and llvm-strip's versions, the flags, the source and every header clang's depfile names,
// system headers included). clang runs only when that hash changed; an object or decoder is written
// only when its bytes changed, so what depends on it is not rebuilt for nothing.
//
//   node scripts/build-bpf.mjs [--force]   build the tool in the current directory
//   node scripts/build-bpf.mjs --check     compile afresh and compare: exit 1 if an object or decoder is stale
//   node scripts/build-bpf.mjs --toolchain print what identifies the toolchain (an nx runtime input)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const clang = process.env.CLANG ?? 'clang';
const strip = process.env.LLVM_STRIP ?? 'llvm-strip';
const targetArch = { x64: 'x86', arm64: 'arm64' }[arch()];
if (!targetArch) {
  console.error(`build-bpf: unsupported architecture ${arch()}`);
  process.exit(1);
}

const run = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  } catch (e) {
    if (e.code === 'ENOENT') console.error(`build-bpf: ${cmd} not found (apt-get install clang llvm libbpf-dev bpftool)`);
    else if (e.stdout) process.stdout.write(e.stdout);
    process.exit(1);
  }
};
const sha256 = (data) => createHash('sha256').update(data).digest('hex');

/** The compilers' identity: part of every object's input hash, and nx's runtime input of build-bpf. */
function toolchain() {
  const headers = ['/usr/include/bpf', '/usr/local/include/bpf'].filter(existsSync).flatMap((d) =>
    readdirSync(d).filter((f) => f.endsWith('.h')).sort().map((f) => `${f} ${sha256(readFileSync(join(d, f)))}`));
  return [run(clang, ['--version']).split('\n')[0], run(strip, ['--version']).split('\n').slice(0, 2).join(' '), ...headers].join('\n');
}

if (process.argv.includes('--toolchain')) {
  console.log(toolchain());
  process.exit(0);
}

const tool = process.cwd();
const srcDir = join(tool, 'bpf');
const outDir = join(tool, 'dist', 'bpf');
const genDir = join(tool, 'src', 'generated');
const sources = existsSync(srcDir) ? readdirSync(srcDir).filter((f) => f.endsWith('.bpf.c')).sort() : [];
if (sources.length === 0) {
  console.error(`build-bpf: no bpf/*.bpf.c in ${tool}`);
  process.exit(1);
}
const force = process.argv.includes('--force');
const check = process.argv.includes('--check');
const flags = [
  '-target', 'bpf', '-g', '-O2', '-Wall', '-Werror', '-Wno-unused-function',
  `-D__TARGET_ARCH_${targetArch}`,
  // source paths in the object's BTF line info relative to the checkout: the same object from any clone
  `-fdebug-prefix-map=${root}/=`, '-fdebug-compilation-dir=.',
  '-I', join(root, 'libs', 'bpf-headers', 'include'),
  '-I', srcDir,
];
// the codegen runs in this process: a decoder is rewritten only when its text changes
const { generateTs, readLayout } = await import(join(root, 'libs', 'codegen', 'dist', 'index.js'));
const tc = toolchain();
if (!check) mkdirSync(outDir, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'build-bpf-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

// paths inside the checkout are kept relative to it, so a record means the same in any clone
const rel = (f) => (f.startsWith(`${root}/`) ? relative(root, f) : f);
const abs = (f) => (isAbsolute(f) ? f : join(root, f));
/** Hash of what a compile reads: toolchain, flags, and each file by path and content. */
const inputsHash = (files) => {
  const h = createHash('sha256').update(tc).update('\0').update(flags.join(' ').replaceAll(root, '.')).update('\0');
  for (const f of files) {
    if (!existsSync(abs(f))) return undefined; // a header is gone: compile again (and fail there if needed)
    h.update(f).update('\0').update(readFileSync(abs(f))).update('\0');
  }
  return h.digest('hex');
};
/** Write only when the bytes differ (keeps the mtime, and what depends on the file, untouched). */
const writeIfChanged = (path, data) => {
  if (existsSync(path) && readFileSync(path).equals(Buffer.from(data))) return false;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, data);
  renameSync(`${path}.tmp`, path);
  return true;
};
/** The files a depfile (clang -MD) lists after the target. */
const depfileInputs = (text) =>
  text.replace(/\\\n/g, ' ').replace(/^[^:]*:/, '').trim().split(/(?<!\\)\s+/).filter(Boolean).map((f) => rel(resolve(f.replace(/\\ /g, ' '))));

/** Compile one source into the scratch directory: the stripped object and what clang read. */
function compile(src, name) {
  const tmpObj = join(tmp, `${name}.bpf.o`);
  const depfile = join(tmp, `${name}.d`);
  run(clang, [...flags, '-MD', '-MF', depfile, '-c', join(srcDir, src), '-o', tmpObj]);
  run(strip, ['-g', tmpObj]); // DWARF off, BTF stays
  return { bytes: readFileSync(tmpObj), files: depfileInputs(readFileSync(depfile, 'utf8')) };
}
// the tool's own header (its #defines become constants) is named here, not found beside the object:
// --check compiles into a scratch directory
const decoder = (obj, name) => {
  const header = join(srcDir, `${name}.h`);
  try {
    return generateTs(readLayout(obj, undefined, existsSync(header) ? readFileSync(header, 'utf8') : undefined));
  } catch (e) {
    console.error(`build-bpf: codegen of ${obj}: ${e.message}`);
    process.exit(1);
  }
};

let stale = 0;
for (const src of sources) {
  const name = basename(src, '.bpf.c');
  const obj = join(outDir, `${name}.bpf.o`);
  const depsPath = join(outDir, `${name}.bpf.deps.json`);
  const gen = join(genDir, `${name}.ts`);
  const where = `${basename(tool)}/${src}`;
  if (check) {
    // compile from scratch, whatever the records say, and compare with what the build left
    const { bytes } = compile(src, name);
    const objCurrent = existsSync(obj) && readFileSync(obj).equals(bytes);
    const genCurrent = existsSync(gen) && readFileSync(gen, 'utf8') === decoder(join(tmp, `${name}.bpf.o`), name);
    if (!objCurrent || !genCurrent) stale++;
    console.log(`build-bpf --check: ${where}: dist/bpf/${name}.bpf.o ${objCurrent ? 'current' : 'STALE'}, src/generated/${name}.ts ${genCurrent ? 'current' : 'STALE'}`);
    continue;
  }
  let deps;
  try { deps = JSON.parse(readFileSync(depsPath, 'utf8')); } catch { /* first build */ }
  const objOk = existsSync(obj) && deps?.object === sha256(readFileSync(obj));
  let status;
  if (!force && objOk && deps.inputs === inputsHash(deps.files)) {
    status = 'up to date';
  } else {
    const { bytes, files } = compile(src, name);
    status = writeIfChanged(obj, bytes) ? 'compiled' : 'compiled, object unchanged';
    writeIfChanged(depsPath, `${JSON.stringify({ inputs: inputsHash(files), object: sha256(bytes), files }, null, 1)}\n`);
  }
  const genStatus = writeIfChanged(gen, decoder(obj, name)) ? 'written' : 'unchanged';
  console.log(`build-bpf: ${where}: ${status} -> dist/bpf/${name}.bpf.o; src/generated/${name}.ts ${genStatus}`);
}
if (!check) {
  // what a removed or renamed source left behind: its object, its record, its decoder
  const names = new Set(sources.map((f) => basename(f, '.bpf.c')));
  for (const f of readdirSync(outDir)) {
    const m = f.match(/^(.+)\.bpf\.(o|deps\.json)$/);
    if (m && !names.has(m[1])) rmSync(join(outDir, f));
  }
  for (const f of existsSync(genDir) ? readdirSync(genDir) : []) {
    const m = f.match(/^(.+)\.ts$/);
    if (m && !names.has(m[1]) && readFileSync(join(genDir, f), 'utf8').startsWith('// Generated by @bpf-recipes/codegen from the BTF of ')) {
      rmSync(join(genDir, f));
      console.log(`build-bpf: removed src/generated/${f} (no bpf/${m[1]}.bpf.c)`);
    }
  }
}
if (stale) {
  console.error(`build-bpf --check: ${stale} of ${sources.length} stale in ${basename(tool)} (run npm run build)`);
  process.exit(1);
}
