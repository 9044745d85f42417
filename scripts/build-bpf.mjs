#!/usr/bin/env node
// Compile a tool's bpf/*.bpf.c to CO-RE objects (dist/bpf/), one per architecture bpf-recipes ships
// for (libs/core's ARCHES: dist/bpf/NAME.x86.bpf.o, NAME.arm64.bpf.o, each with its
// -D__TARGET_ARCH_ and vmlinux.h; the loader picks the running one's), and generate their
// TypeScript view (src/generated/) from the objects' BTF. One decoder serves every architecture:
// the build fails when two architectures' objects differ in a record, the config, a map or a program. Run from the tool's directory (npm run build-bpf); nx runs
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
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const clang = process.env.CLANG ?? 'clang';
const strip = process.env.LLVM_STRIP ?? 'llvm-strip';

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
const { ARCHES, archObjectName } = await import(join(root, 'libs', 'core', 'dist', 'arch.js'));
const targets = ARCHES.map((a) => a.target);
const flagsFor = (target) => [
  '-target', 'bpf', '-g', '-O2', '-Wall', '-Werror', '-Wno-unused-function',
  `-D__TARGET_ARCH_${target}`,
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
const inputsHash = (target, files) => {
  const h = createHash('sha256').update(tc).update('\0').update(flagsFor(target).join(' ').replaceAll(root, '.')).update('\0');
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

/** Compile one source for one architecture into the scratch directory: the stripped object and what clang read. */
function compile(src, name, target) {
  const tmpObj = join(tmp, archObjectName(`${name}.bpf.o`, target));
  const depfile = join(tmp, `${name}.${target}.d`);
  run(clang, [...flagsFor(target), '-MD', '-MF', depfile, '-c', join(srcDir, src), '-o', tmpObj]);
  run(strip, ['-g', tmpObj]); // DWARF off, BTF stays
  return { bytes: readFileSync(tmpObj), files: depfileInputs(readFileSync(depfile, 'utf8')) };
}
// the tool's own header (its #defines become constants) is named here, not found beside the object:
// --check compiles into a scratch directory. The decoder is named after NAME.bpf.o, the name the
// tools open (the loader adds the architecture)
const decoderOf = (obj, name) => {
  const header = join(srcDir, `${name}.h`);
  try {
    return generateTs({ ...readLayout(obj, undefined, existsSync(header) ? readFileSync(header, 'utf8') : undefined), object: `${name}.bpf.o` });
  } catch (e) {
    console.error(`build-bpf: codegen of ${obj}: ${e.message}`);
    process.exit(1);
  }
};
/**
 * The decoder of NAME's objects (objs: target → path), the same text from each architecture's
 * object or the build fails naming the first line where two differ.
 */
const decoder = (objs, name) => {
  const texts = Object.entries(objs).map(([target, obj]) => [target, decoderOf(obj, name)]);
  const [[t0, first]] = texts;
  for (const [t, text] of texts.slice(1)) {
    if (text === first) continue;
    const [a, b] = [first.split('\n'), text.split('\n')];
    const i = a.findIndex((line, k) => line !== b[k]);
    console.error(`build-bpf: ${basename(tool)}/${name}: the ${t0} and ${t} objects differ in layout, so one decoder cannot serve both:\n  ${t0}: ${a[i] ?? '(end)'}\n  ${t}: ${b[i] ?? '(end)'}\n(make records, config and maps the same on every architecture: fixed-size types, no pt_regs or arch structs in them)`);
    process.exit(1);
  }
  return first;
};

let stale = 0;
for (const src of sources) {
  const name = basename(src, '.bpf.c');
  const gen = join(genDir, `${name}.ts`);
  const where = `${basename(tool)}/${src}`;
  const objs = {};
  if (check) {
    // compile from scratch, whatever the records say, and compare with what the build left
    const states = [];
    let ok = true;
    for (const target of targets) {
      const obj = join(outDir, archObjectName(`${name}.bpf.o`, target));
      const { bytes } = compile(src, name, target);
      objs[target] = join(tmp, archObjectName(`${name}.bpf.o`, target));
      const current = existsSync(obj) && readFileSync(obj).equals(bytes);
      ok &&= current;
      states.push(`dist/bpf/${basename(obj)} ${current ? 'current' : 'STALE'}`);
    }
    const genCurrent = existsSync(gen) && readFileSync(gen, 'utf8') === decoder(objs, name);
    if (!ok || !genCurrent) stale++;
    console.log(`build-bpf --check: ${where}: ${states.join(', ')}, src/generated/${name}.ts ${genCurrent ? 'current' : 'STALE'}`);
    continue;
  }
  const states = [];
  for (const target of targets) {
    const obj = join(outDir, archObjectName(`${name}.bpf.o`, target));
    const depsPath = obj.replace(/\.o$/, '.deps.json');
    objs[target] = obj;
    let deps;
    try { deps = JSON.parse(readFileSync(depsPath, 'utf8')); } catch { /* first build */ }
    const objOk = existsSync(obj) && deps?.object === sha256(readFileSync(obj));
    let status;
    if (!force && objOk && deps.inputs === inputsHash(target, deps.files)) {
      status = 'up to date';
    } else {
      const { bytes, files } = compile(src, name, target);
      status = writeIfChanged(obj, bytes) ? 'compiled' : 'compiled, object unchanged';
      writeIfChanged(depsPath, `${JSON.stringify({ inputs: inputsHash(target, files), object: sha256(bytes), files }, null, 1)}\n`);
    }
    states.push(`${status} -> dist/bpf/${basename(obj)}`);
  }
  const genStatus = writeIfChanged(gen, decoder(objs, name)) ? 'written' : 'unchanged';
  console.log(`build-bpf: ${where}: ${states.join('; ')}; src/generated/${name}.ts ${genStatus}`);
}
if (!check) {
  // what a removed or renamed source left behind: its object, its record, its decoder
  // (and an object of no architecture, NAME.bpf.o, from before objects were built per architecture)
  const names = new Set(sources.map((f) => basename(f, '.bpf.c')));
  const wanted = new Set([...names].flatMap((n) => targets.map((t) => archObjectName(`${n}.bpf.o`, t).replace(/\.o$/, ''))));
  for (const f of readdirSync(outDir)) {
    const m = f.match(/^(.+\.bpf)\.(o|deps\.json)$/);
    if (m && !wanted.has(m[1])) rmSync(join(outDir, f));
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
