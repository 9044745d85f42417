#!/usr/bin/env node
// npm run test:vm [KERNEL_VERSION] [-- options] — run the privileged tests under another kernel.
//
// Boots a Debian kernel (default: the one Debian's linux-image-<arch> metapackage points at, i.e.
// Debian 12's current 6.1) in QEMU with a busybox initramfs (scripts/vm/init.sh) that mounts a root
// read-only over 9p and runs the tests from this checkout in it. For this machine's architecture the
// root is this machine's own (node and everything else from here); for another (--arch arm64) it is
// a Debian root of that architecture made once with mmdebstrap (through qemu-user-static's binfmt
// handlers), with the packages the tests use, the same Node.js as here from the npm registry
// (node-linux-<cpu>) and the native npm modules of that CPU; the checkout is then shared on its own.
// Output comes over the serial console; the guest's exit status comes back over a virtio serial port
// and becomes ours (125: the VM could not run the command, 124: timeout, or a guest that printed
// nothing but kernel messages for --stall seconds: its last console lines are printed).
//
// The kernel package is fetched with `apt-get download` and unpacked under the cache directory
// (~/.cache/bpf-recipes/vm, or $BPF_RECIPES_VM_CACHE): nothing is installed into /boot. The foreign
// root is kept there too.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createConnection } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

const USAGE = `usage: npm run test:vm [KERNEL] [-- [options] [-- COMMAND...]]
  KERNEL            a Debian kernel ABI (6.1.0-50), a package name (linux-image-6.1.0-50-amd64-unsigned),
                    or nothing for Debian's current one (what linux-image-<arch> depends on)
  --arch ARCH       Debian architecture of the guest: amd64 (default: this machine's) or arm64
  --accel A         auto (default: KVM when /dev/kvm works for this arch, else TCG), kvm, tcg
  --cpus N          guest CPUs (default 2)      --mem MB   guest memory (default 3072)
  --timeout SEC     kill the VM after SEC seconds (default 3600): exit 124
  --stall SEC       kill the VM when it printed nothing but kernel messages for SEC seconds
                    (default 300; a hung or soft-locked guest): exit 124 with its last lines
  --stall-retries N after a stall, boot a fresh guest and run again, N times (default 1), within --timeout
  --list FILE       test files to run, one per line (default scripts/vm/tests.txt)
  --fetch           only download and unpack the kernel (and make the root of a foreign --arch), then exit
  COMMAND           run this in the checkout instead of the tests (e.g. -- sh -c 'uname -r')`;

// what differs per architecture; everything else is the same (the names of each architecture:
// libs/core's ARCHES). TCG's arm64 'max' CPU with QEMU's own pointer-authentication algorithm:
// the architected one (QARMA) costs a lot of emulated time on every function return
const VM_ARCHES = {
  amd64: { qemu: 'qemu-system-x86_64', board: ['-M', 'pc'], cpu: { kvm: 'host', tcg: 'max' }, console: 'ttyS0', flavour: 'amd64' },
  arm64: { qemu: 'qemu-system-aarch64', board: ['-M', 'virt'], cpu: { kvm: 'host', tcg: 'cortex-a72' }, console: 'ttyAMA0', flavour: 'arm64' },
};
// a root of another architecture: Debian's packages the tests run (the test VM's counterpart of
// scripts/packages.txt; libc6-dbg names libc's local functions in user stacks), busybox-static for
// the initramfs, nodejs and libbpf1 for the .deb's dependencies. Made by mmdebstrap from this list
// alone (nothing is changed in it by hand): a fresh CI machine gets the same root
const ROOT_PACKAGES = [
  'nodejs', 'libbpf1', 'bpftool', 'busybox-static', 'e2fsprogs', 'procps', 'iproute2', 'util-linux', 'strace',
  'gcc', 'libc6-dev', 'libc6-dbg', 'make', 'python3', 'openssl', 'libssl-dev', 'curl', 'ca-certificates',
];
// modules the guest needs before it can see the host root, and the ones the tests use
const MODULES = ['virtio_pci', 'virtio_blk', 'virtio_console', 'virtio_rng', '9pnet_virtio', '9p', 'overlay', 'ext4', 'crc32c_generic'];

function fail(msg, code = 2) {
  process.stderr.write(`test:vm: ${msg}\n`);
  process.exit(code);
}
function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) fail(`${cmd}: ${r.error.message}${r.error.code === 'ENOENT' ? ' (run scripts/setup.sh)' : ''}`, 1);
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed:\n${r.stderr ?? ''}`, 1);
  return r.stdout;
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      arch: { type: 'string' }, accel: { type: 'string', default: 'auto' }, cpus: { type: 'string', default: '2' },
      mem: { type: 'string', default: '3072' }, timeout: { type: 'string', default: '3600' }, stall: { type: 'string', default: '300' }, 'stall-retries': { type: 'string', default: '1' }, list: { type: 'string' },
      fetch: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
} catch (e) {
  fail(`${e.message}\n${USAGE}`);
}
const { values: opt, positionals } = parsed;
if (opt.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
// `npm run test:vm 6.1.0-50 -- --arch arm64 -- uname -r`: the first positional that looks like a
// kernel is the kernel; the rest is the command
let kernelArg;
let command = positionals;
if (positionals.length && /^(linux-image-)?\d+\.\d+/.test(positionals[0])) [kernelArg, ...command] = positionals;
const { ARCHES } = await import(join(repo, 'libs', 'core', 'dist', 'arch.js'));
const hostDebArch = sh('dpkg', ['--print-architecture']).trim();
const arch = opt.arch ?? hostDebArch;
const A = VM_ARCHES[arch] && { ...VM_ARCHES[arch], ...ARCHES.find((a) => a.debian === arch) };
if (!A) fail(`--arch ${arch}: not one of ${Object.keys(VM_ARCHES).join(', ')}`);
const foreign = A.node !== process.arch;
for (const k of ['cpus', 'mem', 'timeout', 'stall']) if (!/^\d+$/.test(opt[k]) || +opt[k] < 1) fail(`--${k} ${opt[k]}: give a positive whole number`);
if (!/^\d+$/.test(opt['stall-retries'])) fail(`--stall-retries ${opt['stall-retries']}: give a whole number (0: no retry)`);
if (!['auto', 'kvm', 'tcg'].includes(opt.accel)) fail(`--accel ${opt.accel}: give auto, kvm or tcg`);

// ---- the kernel: resolve the package, fetch and unpack it (once) ----
const cacheRoot = process.env.BPF_RECIPES_VM_CACHE ?? join(homedir(), '.cache', 'bpf-recipes', 'vm');
const archSuffix = arch === hostDebArch ? '' : `:${arch}`;
function resolvePackage() {
  if (kernelArg?.startsWith('linux-image-')) return kernelArg;
  if (kernelArg) return `linux-image-${kernelArg}-${A.flavour}-unsigned`;
  // Debian's current kernel: the metapackage's dependency (linux-image-6.1.0-N-amd64), unsigned
  const show = sh('apt-cache', ['show', '--no-all-versions', `linux-image-${A.flavour}${archSuffix}`]);
  const dep = show.match(/^Depends:.*?\b(linux-image-[\d.]+-\d+-[\w-]+?)\b(?: \(|,|$)/m)?.[1];
  if (!dep) fail(`cannot tell Debian's current kernel from linux-image-${A.flavour} (apt-get update?)`, 1);
  return `${dep.replace(/-unsigned$/, '')}-unsigned`;
}
const pkg = resolvePackage();
const kdir = join(cacheRoot, `${pkg}_${arch}`);
if (!existsSync(join(kdir, '.complete'))) {
  const policy = spawnSync('apt-cache', ['show', '--no-all-versions', `${pkg}${archSuffix}`], { encoding: 'utf8' });
  if (policy.status !== 0 || !policy.stdout.trim()) {
    fail(`no package ${pkg}${archSuffix} in apt's lists: run apt-get update, or pick one from apt-cache search 'linux-image-.*-${A.flavour}-unsigned'` +
      (archSuffix ? ` (and dpkg --add-architecture ${arch} first)` : ''), 1);
  }
  rmSync(kdir, { recursive: true, force: true });
  mkdirSync(kdir, { recursive: true });
  process.stderr.write(`test:vm: fetching ${pkg}${archSuffix}\n`);
  sh('apt-get', ['download', '-q', `${pkg}${archSuffix}`], { cwd: kdir, stdio: ['ignore', 'ignore', 'pipe'] });
  const deb = readdirSync(kdir).find((f) => f.endsWith('.deb'));
  sh('dpkg-deb', ['-x', deb, 'root'], { cwd: kdir });
  rmSync(join(kdir, deb));
  writeFileSync(join(kdir, '.complete'), `${pkg}\n`);
}
const kroot = join(kdir, 'root');
const kver = readdirSync(join(kroot, 'lib', 'modules'))[0];
const vmlinuz = join(kroot, 'boot', `vmlinuz-${kver}`);
if (!existsSync(vmlinuz)) fail(`${pkg} has no boot/vmlinuz-${kver}`, 1);

// ---- the guest's root: this machine's, or a Debian root of the guest's architecture ----
const guestRoot = foreign ? foreignRoot() : '/';
/** qemu-user-static's handler for the guest's ELF machine, registered in binfmt_misc (mmdebstrap runs the root's programs through it). */
function ensureBinfmt() {
  const name = `qemu-${A.machine}`;
  const misc = '/proc/sys/fs/binfmt_misc';
  if (!existsSync(join(misc, 'register'))) sh('mount', ['-t', 'binfmt_misc', 'binfmt_misc', misc]);
  if (existsSync(join(misc, name))) return;
  const conf = `/usr/lib/binfmt.d/${name}.conf`;
  if (!existsSync(conf)) fail(`${conf} is missing: run scripts/setup.sh (package qemu-user-static)`, 1);
  writeFileSync(join(misc, 'register'), readFileSync(conf, 'utf8').split('\n').find((l) => l.startsWith(':')));
}
/**
 * ~/.cache/bpf-recipes/vm/root-<suite>-<arch>: mmdebstrap's root with ROOT_PACKAGES (made again when
 * the list changes), and under /opt/bpf-recipes what the checkout needs of that CPU: Node.js of
 * this machine's version (node-linux-<cpu> from the npm registry: vitest needs a newer one than
 * Debian 12's) and the native npm modules package-lock.json names for it (koffi, rollup, esbuild),
 * at their paths in node_modules (made again when the lock file changes).
 */
function foreignRoot() {
  const suite = readFileSync('/etc/os-release', 'utf8').match(/^VERSION_CODENAME=(\w+)/m)?.[1];
  if (!suite) fail('cannot tell the Debian suite from /etc/os-release (VERSION_CODENAME)', 1);
  const dir = join(cacheRoot, `root-${suite}-${arch}`);
  const want = `${suite} ${arch} ${ROOT_PACKAGES.join(',')}\n`;
  const stamp = join(dir, '.bpf-recipes-root');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
    ensureBinfmt();
    rmSync(dir, { recursive: true, force: true });
    const t = Date.now();
    process.stderr.write(`test:vm: making a Debian ${suite} ${arch} root in ${dir} (mmdebstrap, a few minutes)\n`);
    const mirrors = [`${suite} main`, `${suite}-updates main`].map((x) => `deb http://deb.debian.org/debian ${x}`);
    mirrors.push(`deb http://deb.debian.org/debian-security ${suite}-security main`);
    const r = spawnSync('mmdebstrap', [`--arch=${arch}`, '--variant=apt', '--quiet', `--include=${ROOT_PACKAGES.join(',')}`, suite, dir, ...mirrors], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.error?.code === 'ENOENT') fail('mmdebstrap is missing: run scripts/setup.sh', 1);
    if (r.status !== 0) fail(`mmdebstrap of the ${arch} root failed (exit ${r.status})`, 1);
    writeFileSync(stamp, want);
    process.stderr.write(`test:vm: ${arch} root made in ${((Date.now() - t) / 1000).toFixed(0)} s\n`);
  }
  // mmdebstrap writes no /etc/hosts: without it nothing resolves localhost (vitest's server, the resolver tests)
  if (!existsSync(join(dir, 'etc', 'hosts'))) writeFileSync(join(dir, 'etc', 'hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  // the npm side: Node.js and native modules of the guest's CPU, by the lock file's versions
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')).packages;
  const natives = Object.entries(lock).filter(([k, v]) => k.startsWith('node_modules/') && v.cpu?.includes(A.node) && (!v.os || v.os.includes('linux')) && (!v.libc || v.libc.includes('glibc')) && !/\/@nx\//.test(k));
  // npm itself (this machine's version; pure JavaScript, its dependencies bundled) where a Node.js
  // distribution has it: the guest installs the npm tarballs with it (guest-install.priv.test.ts)
  const npmVersion = sh('npm', ['--version']).trim();
  const npmWant = `node-linux-${A.node}@${process.versions.node}\nnpm@${npmVersion}\n${natives.map(([k, v]) => `${k}@${v.version}`).join('\n')}\n`;
  const optDir = join(dir, 'opt', 'bpf-recipes');
  const npmStamp = join(optDir, '.modules');
  if (!existsSync(npmStamp) || readFileSync(npmStamp, 'utf8') !== npmWant) {
    rmSync(optDir, { recursive: true, force: true });
    mkdirSync(optDir, { recursive: true });
    const tmp = mkdtempSync(join(tmpdir(), 'bpf-recipes-vm-npm-'));
    const unpack = (spec, to) => {
      const file = sh('npm', ['pack', '--silent', '--pack-destination', tmp, spec], { cwd: tmp }).trim().split('\n').pop();
      mkdirSync(to, { recursive: true });
      sh('tar', ['-xzf', join(tmp, file), '-C', to, '--strip-components=1']);
    };
    process.stderr.write(`test:vm: node-linux-${A.node}@${process.versions.node} and ${natives.length} native modules for the ${arch} root\n`);
    unpack(`node-linux-${A.node}@${process.versions.node}`, join(optDir, 'node'));
    unpack(`npm@${npmVersion}`, join(optDir, 'node', 'lib', 'node_modules', 'npm'));
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(optDir, 'node', 'bin', 'npm'));
    for (const [k, v] of natives) unpack(`${k.replace(/^.*node_modules\//, '')}@${v.version}`, join(optDir, k));
    rmSync(tmp, { recursive: true, force: true });
    writeFileSync(join(optDir, 'natives'), `${natives.map(([k]) => k).join('\n')}\n`);
    writeFileSync(npmStamp, npmWant);
  }
  return dir;
}
// the checkout is bound at its own path: in a foreign root (read-only in the guest) that directory is made here
if (foreign) mkdirSync(join(guestRoot, repo), { recursive: true });
if (opt.fetch) {
  process.stdout.write(`${kver} ${vmlinuz}${foreign ? ` ${guestRoot}` : ''}\n`);
  process.exit(0);
}

// ---- modules: the closure of MODULES over their depends= (read from each .ko), in load order ----
const moddir = join(kroot, 'lib', 'modules', kver);
const builtin = new Set(readFileSync(join(moddir, 'modules.builtin'), 'utf8').split('\n').filter(Boolean).map((p) => basename(p).replace(/\.ko.*$/, '').replace(/-/g, '_')));
const files = new Map();
(function walk(d) {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    if (e.isDirectory()) walk(join(d, e.name));
    else if (/\.ko(\.(xz|zst|gz))?$/.test(e.name)) files.set(e.name.replace(/\.ko.*$/, '').replace(/-/g, '_'), join(d, e.name));
  }
})(join(moddir, 'kernel'));
function moduleBytes(path) {
  if (path.endsWith('.ko')) return readFileSync(path);
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : 'gzip';
  const r = spawnSync(tool, ['-dc', path], { maxBuffer: 1 << 28 });
  if (r.status !== 0) fail(`cannot decompress ${path} with ${tool}`, 1);
  return r.stdout;
}
const order = [];
const mods = new Map();
function need(name) {
  if (builtin.has(name) || mods.has(name)) return;
  const path = files.get(name);
  if (!path) fail(`kernel ${kver} has no module ${name}`, 1);
  const bytes = moduleBytes(path);
  mods.set(name, bytes);
  const deps = bytes.toString('latin1').match(/\0depends=([^\0]*)\0/)?.[1];
  for (const d of deps ? deps.split(',').filter(Boolean) : []) need(d.replace(/-/g, '_'));
  order.push(name);
}
for (const m of MODULES) need(m);

// ---- accelerator ----
function kvmUsable() {
  if (foreign) return false;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return false;
  }
  // /dev/kvm can exist and still fail to run a guest (nested virtualisation: seen here aborting on
  // an MSR at the first instruction): boot the kernel with no root; it panics and the VM ends
  const r = spawnSync(A.qemu, ['-accel', 'kvm', '-cpu', A.cpu.kvm, ...A.board, '-m', '256', '-nodefaults', '-display', 'none', '-no-reboot',
    '-kernel', vmlinuz, '-append', 'panic=-1 quiet'], { stdio: 'ignore', timeout: 30000 });
  return r.status === 0 && r.signal === null;
}
const accel = opt.accel === 'auto' ? (kvmUsable() ? 'kvm' : 'tcg') : opt.accel;

// ---- what the guest runs ----
const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
let argv;
if (command.length) {
  argv = command;
} else {
  // a line is a test file, or `FILE :: NAME` for the tests of FILE whose name contains NAME
  // (scripts/vm/tests-arm64.txt: the emulated arm64 guest runs a subset)
  const listFile = opt.list ?? join(here, foreign ? `tests-${arch}.txt` : 'tests.txt');
  const lines = readFileSync(listFile, 'utf8').split('\n').map((l) => l.replace(/(^|\s)#.*/, '').trim()).filter(Boolean).map((l) => l.split(/\s+::\s+/));
  const tests = [...new Set(lines.map(([f]) => f))];
  const names = lines.filter(([, n]) => n).map(([, n]) => n);
  for (const t of tests) if (!existsSync(join(repo, t))) fail(`${relative(repo, listFile)} names ${t}, which does not exist`);
  const whole = lines.filter(([, n]) => !n).map(([f]) => f);
  if (names.length && whole.length) fail(`${relative(repo, listFile)}: give every line a test name (FILE :: NAME) or none (${whole[0]} has none)`);
  for (const t of ['libs/core/dist', 'tools/udplife/dist']) if (!existsSync(join(repo, t))) fail('the checkout is not built: run npm run build first');
  // the guest installs the .deb and the npm tarballs of its architecture
  // (tools/bpf-recipes/test/guest-install.priv.test.ts): made here, from this build
  const guestInstall = tests.includes('tools/bpf-recipes/test/guest-install.priv.test.ts');
  if (guestInstall) {
    process.stderr.write(`test:vm: packing the npm tarballs and the ${arch} .deb for the guest to install (npm run pack:all, npm run package:deb -- --arch ${arch})\n`);
    sh('node', [join(repo, 'scripts', 'pack.mjs')], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
    sh('node', [join(repo, 'scripts', 'package-deb.mjs'), '--arch', arch], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
    // the guest installs the tarballs with npm --offline (it has no network): their registry
    // dependencies for its CPU (koffi's prebuilt library for linux-arm64 among them) are put in an
    // npm cache here, by an install for that CPU into a throwaway directory
    process.stderr.write(`test:vm: the npm tarballs' dependencies for ${A.node} into dist-packages/npm-cache (the guest installs offline)\n`);
    const cache = join(repo, 'dist-packages', 'npm-cache');
    const scratch = mkdtempSync(join(tmpdir(), 'bpf-recipes-vm-npm-'));
    const tgz = readdirSync(join(repo, 'dist-packages')).filter((f) => f.endsWith('.tgz')).map((f) => join(repo, 'dist-packages', f));
    sh('npm', ['install', '--prefix', scratch, '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', `--cpu=${A.node}`, '--os=linux', '--libc=glibc', '--cache', cache, ...tgz], { stdio: ['ignore', 'ignore', 'pipe'] });
    rmSync(scratch, { recursive: true, force: true });
  }
  const pattern = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  // an emulated CPU runs each tool start several times slower than the host (another architecture's
  // slower still): tests get more time, so that a test of many starts (bad input: one start each)
  // is not cut off on a loaded host; a hung guest is still caught by --stall
  const slow = foreign ? ['--testTimeout=240000', '--hookTimeout=240000'] : accel === 'tcg' ? ['--testTimeout=180000', '--hookTimeout=180000'] : [];
  argv = ['node_modules/.bin/vitest', 'run', '--project', 'privileged', '--reporter=verbose', '--reporter=./scripts/summary-reporter.ts', ...slow, ...(pattern ? ['-t', pattern] : []), ...tests];
}
const guestEnv = {
  PATH: `${foreign ? '/opt/bpf-recipes/node/bin:' : ''}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: '/tmp', LANG: 'C.UTF-8', TERM: 'dumb',
  BPF_RECIPES_VM: `${kver} ${arch}`,
  // the tests' own waits (a tool's "Tracing", a line, programs freed: libs/testing timeScale) are
  // made for a real CPU: under emulation a tool's start takes 10-30 s (Node's start alone 2-3 s)
  ...(foreign || accel === 'tcg' ? { BPF_RECIPES_TEST_TIME_SCALE: '4' } : {}),
  ...Object.fromEntries(['CI', 'FORCE_COLOR', 'NO_COLOR'].filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]])),
};
const guestScript = ['set -a', ...Object.entries(guestEnv).map(([k, v]) => `${k}=${q(v)}`), 'set +a', `cd ${q(repo)} || exit 125`, `exec ${argv.map(q).join(' ')}`, ''].join('\n');

// ---- the initramfs: busybox, init, the modules, the settings (a newc cpio, uncompressed) ----
function cpio(entries) {
  const parts = [];
  let ino = 1;
  const pad = (n) => Buffer.alloc((4 - (n % 4)) % 4);
  const add = (name, mode, data = Buffer.alloc(0), rdev = [0, 0]) => {
    const fields = [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], Buffer.byteLength(name) + 1, 0];
    const hdr = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}${name}\0`, 'latin1');
    parts.push(hdr, pad(hdr.length), data, pad(data.length));
  };
  for (const e of entries) add(e.name, e.mode, e.data, e.rdev);
  add('TRAILER!!!', 0);
  return Buffer.concat(parts);
}
const busybox = ['/bin/busybox', '/usr/bin/busybox'].map((p) => join(guestRoot, p)).find((p) => existsSync(p));
if (!busybox) fail('busybox is missing: run scripts/setup.sh (package busybox-static)', 1);
// it runs before any library is reachable: it must be static (no PT_INTERP program header)
function hasInterp(elf) {
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const [size, count] = [elf.readUInt16LE(0x36), elf.readUInt16LE(0x38)];
  for (let i = 0; i < count; i++) if (elf.readUInt32LE(phoff + i * size) === 3) return true;
  return false;
}
const busyboxBytes = readFileSync(busybox);
if (hasInterp(busyboxBytes)) fail(`${busybox} is dynamically linked: install busybox-static`, 1);
const natives = foreign ? readFileSync(join(guestRoot, 'opt', 'bpf-recipes', 'natives'), 'utf8').split('\n').filter(Boolean) : [];
const vmEnv = [`VM_MODULES=${q(order.join(' '))}`, `VM_WORKDIR=${q(repo)}`, `VM_COMMAND=${q(argv.join(' '))}`,
  `VM_CHECKOUT_TAG=${foreign ? 'checkout' : ''}`, `VM_ROOT_OVERLAY=${foreign ? 1 : ''}`, `VM_NATIVES=${q(natives.join(' '))}`, ''].join('\n');
const dirs = ['bin', 'dev', 'proc', 'sys', 'modules', 'tmp'];
const initrd = cpio([
  ...dirs.map((d) => ({ name: d, mode: 0o40755 })),
  { name: 'dev/console', mode: 0o20600, rdev: [5, 1] },
  { name: 'init', mode: 0o100755, data: readFileSync(join(here, 'init.sh')) },
  { name: 'bin/busybox', mode: 0o100755, data: busyboxBytes },
  { name: 'vm.env', mode: 0o100644, data: Buffer.from(vmEnv) },
  { name: 'guest.sh', mode: 0o100644, data: Buffer.from(guestScript) },
  ...order.map((m) => ({ name: `modules/${m}.ko`, mode: 0o100644, data: mods.get(m) })),
]);

// ---- where the vCPUs are: read over QEMU's monitor when a guest stalls ----
// The kernel's own soft-lockup report (its registers and call trace) comes on the console too
// (loglevel=5 below), but a CPU spinning with interrupts off reports nothing: the monitor sees
// every vCPU's program counter whatever the guest does. Named from the guest's /proc/kallsyms
// (its function symbols, which init.sh writes to the port "kallsyms" at boot: Debian's System.map
// is a placeholder), read from `file`: [address, name] by address.
function kernelSymbols(file) {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').map((l) => l.split(/\s+/)).filter(([a, t, n]) => a && n && /^[tT]$/.test(t)).map(([a, , n]) => [BigInt(`0x${a}`), n]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)) : [];
}
function symbolize(pc, textSymbols) {
  const at = BigInt(`0x${pc}`);
  let [lo, hi] = [0, textSymbols.length - 1];
  if (hi < 0 || at < textSymbols[0][0]) return `0x${pc}${/^0*[0-7]/.test(pc.padStart(16, '0')) ? ' (user space)' : ''}`;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (textSymbols[mid][0] <= at) lo = mid;
    else hi = mid - 1;
  }
  return `${textSymbols[lo][1]}+0x${(at - textSymbols[lo][0]).toString(16)}`;
}
/** One HMP command over the monitor socket: its output (empty when the monitor does not answer in 5 s). */
function monitorCommand(sock, cmd) {
  return new Promise((resolve) => {
    const c = createConnection(sock);
    let out = '';
    let sent = false;
    const done = (text) => {
      clearTimeout(timer);
      c.destroy();
      resolve(text);
    };
    const timer = setTimeout(() => done(''), 5000);
    c.on('error', () => done(''));
    c.on('data', (d) => {
      out += d.toString('latin1');
      if (!sent && out.includes('(qemu) ')) {
        sent = true;
        out = '';
        c.write(`${cmd}\n`);
      } else if (sent && out.includes('(qemu) ')) done(out);
    });
  });
}
/** Each vCPU's program counter, sampled `n` times: 'vCPU 0: fn+0x1a (5 of 5), ...' lines. */
async function vcpuSamples(sock, kallsyms, n = 5) {
  const symbols = kernelSymbols(kallsyms);
  const seen = new Map();
  for (let i = 0; i < n; i++) {
    const out = await monitorCommand(sock, 'info registers -a');
    for (const part of out.split(/^CPU#/m).slice(1)) {
      const cpu = part.match(/^(\d+)/)?.[1];
      const pc = part.match(/\b(?:RIP|PC)=([0-9a-fA-F]+)/)?.[1]?.toLowerCase();
      if (cpu === undefined || !pc) continue;
      const where = symbolize(pc, symbols);
      const m = seen.get(cpu) ?? new Map();
      m.set(where, (m.get(where) ?? 0) + 1);
      seen.set(cpu, m);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return [...seen].map(([cpu, m]) => `vCPU ${cpu}: ${[...m].map(([w, k]) => `${w} (${k} of ${n})`).join(', ')}`);
}

// ---- run ----
// One boot of the guest: resolves with its status (124 on --timeout or --stall) and whether it stalled.
function boot(deadline) {
  return new Promise((resolve) => {
    const work = mkdtempSync(join(tmpdir(), 'bpf-recipes-vm-'));
    const initrdPath = join(work, 'initrd.cpio');
    writeFileSync(initrdPath, initrd);
    const disk = join(work, 'disk.img');
    writeFileSync(disk, '');
    spawnSync('truncate', ['-s', '512M', disk]);
    const resultPath = join(work, 'result');
    writeFileSync(resultPath, '');
    const qargs = [
      ...A.board, '-accel', accel === 'kvm' ? 'kvm' : 'tcg,thread=multi', '-cpu', A.cpu[accel], '-smp', opt.cpus, '-m', opt.mem,
      '-nodefaults', '-no-reboot', '-display', 'none', '-serial', 'stdio',
      '-kernel', vmlinuz, '-initrd', initrdPath,
      // loglevel=5 (after quiet): the kernel's warnings with their registers and call traces (a soft
      // lockup's, an RCU stall's) reach the console
      '-append', `console=${A.console} quiet loglevel=5 panic=-1 rdinit=/init`,
      '-monitor', `unix:${join(work, 'monitor')},server=on,wait=off`,
      '-fsdev', `local,id=hostroot,path=${guestRoot},security_model=none,readonly=on,multidevs=remap`,
      '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
      // a foreign root does not hold the checkout: it comes on its own
      ...(foreign ? ['-fsdev', `local,id=checkout,path=${repo},security_model=none,readonly=on,multidevs=remap`, '-device', 'virtio-9p-pci,fsdev=checkout,mount_tag=checkout'] : []),
      '-drive', `file=${disk},format=raw,if=none,id=scratch,cache=unsafe`, '-device', 'virtio-blk-pci,drive=scratch',
      '-device', 'virtio-rng-pci',
      '-device', 'virtio-serial-pci', '-chardev', `file,id=result,path=${resultPath}`, '-device', 'virtserialport,chardev=result,name=result',
      '-chardev', `file,id=kallsyms,path=${join(work, 'kallsyms')}`, '-device', 'virtserialport,chardev=kallsyms,name=kallsyms',
    ];
    const t0 = Date.now();
    process.stderr.write(`test:vm: ${kver} (${arch}, ${accel.toUpperCase()}, ${opt.cpus} CPUs, ${opt.mem} MB): ${argv.join(' ')}\n`);
    const vm = spawn(A.qemu, qargs, { stdio: ['ignore', 'pipe', 'inherit'] });
    // the last console lines, and when the guest last printed something of its own: a kernel message
    // ("[  123.456] watchdog: BUG: soft lockup", an RCU stall) is no sign of progress
    const tail = [];
    let partial = '';
    let lastProgress = Date.now();
    vm.stdout.on('data', (d) => {
      const text = d.toString('latin1').replace(/\r\n/g, '\n');
      process.stdout.write(text, 'latin1');
      const lines = (partial + text).split('\n');
      partial = lines.pop();
      for (const l of lines) {
        tail.push(l);
        if (tail.length > 40) tail.shift();
        if (!/^\s*\[\s*\d+\.\d+\]/.test(l) && l.trim()) lastProgress = Date.now();
      }
    });
    let timedOut;
    let stalled = false;
    const stop = (why) => {
      if (timedOut) return;
      timedOut = why;
      vm.kill('SIGTERM');
      setTimeout(() => vm.kill('SIGKILL'), 10000).unref();
    };
    const timer = setTimeout(() => stop(`timed out after ${opt.timeout} s`), Math.max(0, deadline - Date.now()));
    const stallTimer = setInterval(async () => {
      if (!stalled && Date.now() - lastProgress > +opt.stall * 1000) {
        stalled = true;
        // where each vCPU is, before it is stopped: a guest kernel spinning in one function (a lock,
        // an IPI's wait) or an emulator that no longer runs the guest
        const where = await vcpuSamples(join(work, 'monitor'), join(work, 'kallsyms'));
        process.stderr.write(`test:vm: the stalled guest's vCPUs (QEMU monitor, program counter sampled 5 times):\n${where.map((l) => `  ${l}`).join('\n') || '  (the monitor did not answer)'}\n`);
        stop(`the guest printed nothing but kernel messages for ${opt.stall} s: stopped (--stall)`);
      }
    }, 5000);
    const forward = () => vm.kill('SIGTERM');
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(s, forward);
    vm.on('error', (e) => fail(`${A.qemu}: ${e.message}${e.code === 'ENOENT' ? ' (run scripts/setup.sh: package qemu-system-x86 / qemu-system-arm)' : ''}`, 1));
    vm.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(stallTimer);
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(s, forward);
      const result = readFileSync(resultPath, 'utf8').trim();
      rmSync(work, { recursive: true, force: true });
      const secs = ((Date.now() - t0) / 1000).toFixed(0);
      let status;
      if (timedOut) {
        if (partial) tail.push(partial);
        process.stderr.write(`test:vm: ${timedOut}; its last console lines:\n${tail.map((l) => `  | ${l}`).join('\n')}\n`);
        status = 124;
      } else if (/^\d+$/.test(result)) {
        status = Number(result);
      } else {
        process.stderr.write(`test:vm: the VM ended without a result (qemu ${signal ?? `exit ${code}`})\n`);
        status = 125;
      }
      process.stderr.write(`test:vm: ${kver} ${arch} ${accel}: exit ${status} after ${secs} s\n`);
      resolve({ status, stalled });
    });
  });
}

// A guest whose CPUs all lock up (seen under TCG: both vCPUs in soft lockup, at different tests each
// time, while the host was idle) is stopped by --stall; it is booted once more and the run starts
// over, within the same --timeout. A second stall is the run's result (124).
const deadline = Date.now() + +opt.timeout * 1000;
let run = await boot(deadline);
for (let retries = +opt['stall-retries']; run.stalled && retries > 0 && deadline - Date.now() > 60000; retries--) {
  process.stderr.write(`test:vm: the guest stalled; booting a fresh one and running again (--stall-retries ${opt['stall-retries']})\n`);
  run = await boot(deadline);
}
process.exit(run.status);
