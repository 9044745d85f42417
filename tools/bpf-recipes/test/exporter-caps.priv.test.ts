// Privileged: capabilities dropped after attach. The exporter and a tool with --metrics, once every
// program is attached (their "Tracing" line), hold only what they still need, read from
// /proc/PID/status of the running process: on this kernel (6.18: map reads need no capability since
// 6.5) the exporter nothing at all, effective, permitted, ambient and bounding set alike, and still
// serves exact counts from its maps and detaches cleanly; python-exec-hook CAP_SYS_PTRACE (it reads
// /proc/PID/exe of new processes); --keep-capabilities, or no --metrics, keeps everything.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAPS, capsForMapReads, capsOf } from '@bpf-recipes/core';
import { freePort, makeCertificates, repoRoot, run, sample, skipPrivileged, startTool, toolBin, uniquelyNamed } from '@bpf-recipes/testing';

const N = 1200;
const status = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
const own = capsOf(readFileSync('/proc/self/status', 'utf8'), 'CapEff');
const bit = (c: keyof typeof CAPS) => 1n << BigInt(CAPS[c]);

describe.skipIf(skipPrivileged())('capabilities after attach', () => {
  it('this kernel reads maps without capabilities (6.5+): nothing to keep for them', () => {
    const [major, minor] = release().split('.').map(Number);
    expect(major > 6 || (major === 6 && minor >= 5)).toBe(true);
    expect(capsForMapReads()).toEqual([]);
    expect(capsForMapReads('6.1.0-28-amd64').length === 0 || capsForMapReads('6.1.0-28-amd64')[0] === 'CAP_BPF').toBe(true);
  });

  it('the exporter: no capability left once attached, and it still serves exact counts and detaches', async () => {
    const dd = uniquelyNamed('/bin/dd', 'ddcap');
    const port = await freePort();
    const exp = await startTool('bpf-recipes', ['exporter', '--listen', `127.0.0.1:${port}`, '--tools', 'syscount,opensnoop', '-v']);
    try {
      const s = status(exp.pid);
      for (const f of ['CapEff', 'CapPrm', 'CapInh', 'CapAmb', 'CapBnd'] as const) expect(capsOf(s, f), f).toBe(0n);
      expect(capsOf(s, 'CapEff')).not.toBe(own); // it had them: the test runs as root
      expect((await run(dd, ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${N}`, 'status=none'])).code).toBe(0);
      // map reads without any capability: the exact count (the dd's writes, filtered by name here)
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toMatch(/^bpf_recipes_syscalls_total\{syscall="write"\} \d+$/m);
      expect(sample(text, 'bpf_recipes_build_info{tool="opensnoop",version="0.1.0"}')).toBe(1);
      for (let i = 0; i < 50 && !/capabilities after attach/.test(exp.stderr()); i++) await new Promise((r) => setTimeout(r, 100));
      expect(exp.stderr()).toMatch(/^bpf-recipes exporter: capabilities after attach: none \(\d+ of \d+ threads, V8's own background threads, keep theirs\)$/m);
    } finally {
      expect((await exp.stop('SIGTERM')).code).toBe(0);
    }
    // and the count is exact when filtered to the dd alone
    const port2 = await freePort();
    const filtered = await startTool('syscount', ['-n', basename(dd), '--syscall', 'write', '--metrics', `127.0.0.1:${port2}`]);
    try {
      expect(capsOf(status(filtered.pid), 'CapEff')).toBe(0n);
      expect((await run(dd, ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${N}`, 'status=none'])).code).toBe(0);
      expect(sample(await (await fetch(`http://127.0.0.1:${port2}/metrics`)).text(), 'bpf_recipes_syscalls_total{syscall="write"}')).toBe(N);
    } finally {
      expect((await filtered.stop('SIGINT')).code).toBe(0);
    }
  }, 60000);

  it('python-exec-hook --metrics keeps CAP_SYS_PTRACE alone; --keep-capabilities or no --metrics keeps everything', async () => {
    const port = await freePort();
    const hook = await startTool('python-exec-hook', ['--metrics', `127.0.0.1:${port}`]);
    try {
      expect(capsOf(status(hook.pid), 'CapEff')).toBe(bit('CAP_SYS_PTRACE'));
      expect(capsOf(status(hook.pid), 'CapBnd')).toBe(bit('CAP_SYS_PTRACE'));
    } finally {
      await hook.stop('SIGINT');
    }
    for (const args of [['--metrics', `127.0.0.1:${port}`, '--keep-capabilities'], []]) {
      const t = await startTool('syscount', ['-n', 'no-such-comm-y', ...args]);
      try {
        expect(capsOf(status(t.pid), 'CapEff'), args.join(' ')).toBe(own);
      } finally {
        await t.stop('SIGINT');
      }
    }
    const exp = await startTool('bpf-recipes', ['exporter', '--listen', `127.0.0.1:${port}`, '--tools', 'syscount', '--keep-capabilities']);
    try {
      expect(capsOf(status(exp.pid), 'CapEff')).toBe(own);
    } finally {
      await exp.stop('SIGTERM');
    }
  }, 60000);
});

/** every syscall a systemd SystemCallFilter= allow-list names, its @groups expanded by systemd-analyze */
function allowed(filter: string[]): Set<string> {
  const out = new Set<string>();
  const expand = (item: string, seen: Set<string>) => {
    if (!item.startsWith('@')) return void out.add(item);
    if (seen.has(item)) return;
    seen.add(item);
    const r = spawnSync('systemd-analyze', ['syscall-filter', item], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    for (const l of r.stdout.split('\n').slice(1)) {
      const w = l.trim();
      if (w && !w.startsWith('#')) expand(w, seen);
    }
  };
  for (const f of filter) expand(f, new Set());
  return out;
}

describe.skipIf(skipPrivileged())('the unit\'s SystemCallFilter', () => {
  it('every syscall of a whole exporter run (attach, TLS and basic-auth scrapes, the capability drop, detach), counted by strace -f, is in the filter', async () => {
    const unit = readFileSync(join(repoRoot, 'scripts', 'deb', 'bpf-recipes-exporter.service'), 'utf8');
    const filter = /^SystemCallFilter=(.+)$/m.exec(unit)![1].trim().split(/\s+/);
    const allow = allowed(filter);
    expect(allow.has('bpf') && allow.has('perf_event_open') && allow.has('capset') && allow.has('prctl')).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-scf-'));
    try {
      const certs = makeCertificates(dir);
      const hash = spawnSync('htpasswd', ['-nbBC', '10', '', 'pw'], { encoding: 'utf8' }).stdout.replace(/[:\n]/g, '');
      writeFileSync(join(dir, 'web.yml'), `tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\nbasic_auth_users:\n  p: '${hash}'\n`);
      const port = await freePort();
      const out = join(dir, 'strace.txt');
      // the tools whose series the default unit serves as its user (docs/fleet.md), all in one run
      const st = spawn('strace', ['-f', '-c', '-o', out, toolBin('bpf-recipes'), 'exporter', '--listen', `127.0.0.1:${port}`,
        '--tools', 'syscount,opensnoop,killsnoop,biosnoop,python-exec-hook', `--web-config=${join(dir, 'web.yml')}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      st.stderr!.on('data', (d) => (err += d));
      const closed = new Promise((r) => st.on('close', r));
      for (let i = 0; i < 600 && !/^Tracing/m.test(err); i++) await new Promise((r) => setTimeout(r, 100));
      expect(err).toMatch(/^Tracing for metrics: /m);
      for (const auth of ['p:pw', 'p:wrong']) {
        const c = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', certs.ca, '-u', auth, `https://127.0.0.1:${port}/metrics`], { encoding: 'utf8' });
        expect(c.stdout).toBe(auth === 'p:pw' ? '200' : '401');
      }
      // the exporter is strace's child (node, after the launcher's exec): SIGTERM to it, strace follows it out
      const child = readFileSync(`/proc/${st.pid}/task/${st.pid}/children`, 'utf8').trim().split(/\s+/).map(Number)[0];
      process.kill(child, 'SIGTERM');
      await closed;
      const seen = readFileSync(out, 'utf8').split('\n').map((l) => l.trim().split(/\s+/)).filter((w) => w.length >= 5 && /^\d/.test(w[0]) && w.at(-1) !== 'total').map((w) => w.at(-1)!);
      expect(seen).toContain('bpf');
      expect(seen).toContain('capset');
      expect(seen.filter((s) => !allow.has(s))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180000);
});
