// Privileged, in the VM lane's guest only (BPF_RECIPES_VM is set there; the guest's root of another
// architecture is an overlay whose writes vanish with the VM): the two ways users get the tools, in
// the guest's architecture, each run on Debian's own Node.js (18). This is how the arm64 packages are
// proven on arm64 (npm run test:vm -- --arch arm64), not only built. The lane makes both on the host
// before booting (scripts/vm/run.mjs):
//  - the .deb (npm run package:deb -- --arch ARCH), installed with dpkg into the guest's Debian root,
//    run from /usr/sbin;
//  - the npm tarballs (npm run pack:all), installed with npm into an empty directory as `npx
//    opensnoop` does, offline (the guest has no network) from an npm cache the lane filled with
//    their registry dependencies for the guest's CPU (koffi's prebuilt library among them).
// Outside a VM it is skipped: installing into this machine is the ship test's (CI only).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixture, repoRoot, run, skipPrivileged, uniquePath } from '@bpf-recipes/testing';

const inVm = Boolean(process.env.BPF_RECIPES_VM);
// the installed commands, and only Debian's Node.js (the guest's PATH has the checkout's newer Node first)
const env = { ...process.env, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
// asynchronous: under emulation dpkg -i and a tool's start take tens of seconds, and a worker
// blocked that long misses vitest's own RPC deadline (60 s: "Timeout calling onTaskUpdate")
const sh = async (cmd: string, args: string[], shEnv: NodeJS.ProcessEnv = env) => {
  const r = await run(cmd, args, { env: { ...shEnv, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};
const arch = inVm ? spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout.trim() : '';
const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;
const packages = join(repoRoot, 'dist-packages');

/** Trace with an installed opensnoop on Debian's Node.js: exactly the workload's 5 opens of a path. */
async function tracesFiveOpens(opensnoop: string) {
  const path = uniquePath('guest-install');
  writeFileSync(path, 'x');
  const p = spawn(opensnoop, ['--json', '-n', 'workload'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (err += d));
  const closed = new Promise((r) => p.on('close', r));
  const end = Date.now() + 180000;
  while (!/Tracing/.test(err) && p.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  expect(err, 'opensnoop did not get ready').toMatch(/Tracing/);
  // the Node that runs it is Debian's
  expect(readlinkSync(`/proc/${p.pid}/exe`)).toBe('/usr/bin/node');
  const w = await run(fixture('workload'), ['open', path, '5']);
  await new Promise((r) => setTimeout(r, 1000));
  p.kill('SIGINT');
  expect(await closed).toBe(0);
  rmSync(path, { force: true });
  const events = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.path === path);
  expect(w.code).toBe(0);
  expect(events).toHaveLength(5);
  for (const e of events) {
    expect(e).toMatchObject({ pid: w.pid, tid: w.pid, comm: 'workload', err: 0, call: 'openat' });
    expect(e.fd).toBeGreaterThanOrEqual(3);
  }
}

describe.skipIf(skipPrivileged() || !inVm)('the .deb installed in the VM guest', () => {
  beforeAll(async () => {
    const deb = join(packages, `bpf-recipes_${version}_${arch}.deb`);
    if (!existsSync(deb)) throw new Error(`${deb} is missing: the VM lane builds it before booting (npm run package:deb -- --arch ${arch})`);
    await sh('dpkg', ['-i', deb]);
  }, 600000);

  it('dpkg -i installs it with its dependencies met by Debian\'s packages; doctor names this CPU\'s objects', async () => {
    expect(await sh('dpkg-query', ['-W', '-f=${Status} ${Architecture}', 'bpf-recipes'])).toBe(`install ok installed ${arch}`);
    const doctor = JSON.parse(await sh('bpf-recipes', ['doctor', '--json']));
    const cpu = arch === 'arm64' ? 'aarch64 (Node arm64, BPF objects arm64)' : 'x86_64 (Node x64, BPF objects x86)';
    expect(doctor.machine.find((c: { name: string }) => c.name === 'architecture')).toEqual({ name: 'architecture', ok: true, detail: cpu });
  }, 300000);

  it('/usr/sbin/opensnoop on Debian\'s Node.js traces exactly the workload\'s 5 opens of a path', () => tracesFiveOpens('/usr/sbin/opensnoop'), 300000);
});

describe.skipIf(skipPrivileged() || !inVm)('the npm tarballs installed in the VM guest', () => {
  // one tool and its libraries, as `npx opensnoop` installs them
  const dir = inVm ? mkdtempSync(join(tmpdir(), 'bpf-recipes-npx-')) : '';
  const cache = join(packages, 'npm-cache');
  beforeAll(async () => {
    if (!existsSync(cache)) throw new Error(`${cache} is missing: the VM lane fills it before booting (scripts/vm/run.mjs)`);
    const mine = readdirSync(packages).filter((f) => /^bpf-recipes-(opensnoop|cli|core|format|runtime)-[\d.]+\.tgz$/.test(f)).map((f) => join(packages, f));
    expect(mine).toHaveLength(5);
    // npm (a recent one: the guest PATH's Node first) installs; the tools then run on Debian's Node
    await sh('npm', ['install', '--prefix', dir, '--offline', '--cache', cache, '--no-audit', '--no-fund', ...mine], process.env);
  }, 600000);

  it('npm install --offline: the tool, its libraries, koffi with its library for this CPU, the objects of both architectures', async () => {
    const cpu = arch === 'amd64' ? 'x64' : arch;
    const nm = join(dir, 'node_modules');
    expect(readdirSync(join(nm, '@bpf-recipes')).sort()).toEqual(['cli', 'core', 'format', 'opensnoop', 'runtime']);
    expect(readdirSync(join(nm, '@koromix'))).toEqual([`koffi-linux-${cpu}`]);
    expect(readdirSync(join(nm, '@bpf-recipes', 'opensnoop', 'dist', 'bpf')).filter((f) => f.endsWith('.o')).sort()).toEqual(['opensnoop.arm64.bpf.o', 'opensnoop.x86.bpf.o']);
    // its --help on Debian's Node
    expect(await sh(join(nm, '.bin', 'opensnoop'), ['--help'])).toMatch(/^opensnoop \[options\] \[-- COMMAND \[ARGS\.\.\.\]\]\n/);
  }, 300000);

  it('node_modules/.bin/opensnoop on Debian\'s Node.js traces exactly the workload\'s 5 opens of a path', () => tracesFiveOpens(join(dir, 'node_modules', '.bin', 'opensnoop')), 300000);
});
