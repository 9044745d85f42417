// Privileged, in the VM lane's guest only (BPF_RECIPES_VM is set there; the guest's root of another
// architecture is an overlay whose writes vanish with the VM): the .deb of the guest's architecture,
// which the lane built on the host before booting (npm run package:deb -- --arch ARCH), installed
// with dpkg into the guest's Debian root, then run from /usr/sbin on Debian's own Node.js. This is
// how the arm64 package is proven on arm64 (npm run test:vm -- --arch arm64), not only built.
// Outside a VM it is skipped: installing into this machine's root is the ship test's (CI only).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixture, repoRoot, run, skipPrivileged, uniquePath } from '@bpf-recipes/testing';

const inVm = Boolean(process.env.BPF_RECIPES_VM);
// the installed commands, and only Debian's Node.js (the guest's PATH has the checkout's newer Node first)
const env = { ...process.env, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
// asynchronous: under emulation dpkg -i and a tool's start take tens of seconds, and a worker
// blocked that long misses vitest's own RPC deadline (60 s: "Timeout calling onTaskUpdate")
const sh = async (cmd: string, args: string[]) => {
  const r = await run(cmd, args, { env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

describe.skipIf(skipPrivileged() || !inVm)('the .deb installed in the VM guest', () => {
  const arch = inVm ? spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout.trim() : '';
  beforeAll(async () => {
    const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;
    const deb = join(repoRoot, 'dist-packages', `bpf-recipes_${version}_${arch}.deb`);
    if (!existsSync(deb)) throw new Error(`${deb} is missing: the VM lane builds it before booting (npm run package:deb -- --arch ${arch})`);
    await sh('dpkg', ['-i', deb]);
  }, 600000);

  it('dpkg -i installs it with its dependencies met by Debian\'s packages; doctor names this CPU\'s objects', async () => {
    expect(await sh('dpkg-query', ['-W', '-f=${Status} ${Architecture}', 'bpf-recipes'])).toBe(`install ok installed ${arch}`);
    const doctor = JSON.parse(await sh('bpf-recipes', ['doctor', '--json']));
    const cpu = arch === 'arm64' ? 'aarch64 (Node arm64, BPF objects arm64)' : 'x86_64 (Node x64, BPF objects x86)';
    expect(doctor.machine.find((c: { name: string }) => c.name === 'architecture')).toEqual({ name: 'architecture', ok: true, detail: cpu });
  }, 300000);

  it('/usr/sbin/opensnoop on Debian\'s Node.js traces exactly the workload\'s 5 opens of a path', async () => {
    const path = uniquePath('deb-guest');
    writeFileSync(path, 'x');
    const p = spawn('/usr/sbin/opensnoop', ['--json', '-n', 'workload'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (err += d));
    const closed = new Promise((r) => p.on('close', r));
    const end = Date.now() + 180000;
    while (!/Tracing/.test(err) && p.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(err, 'opensnoop did not get ready').toMatch(/Tracing/);
    // the Node that runs it is Debian's, from the package's dependency
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
  }, 300000);
});
