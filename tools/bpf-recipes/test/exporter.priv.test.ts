// Privileged: `bpf-recipes exporter` on the real kernel. It runs as user nobody with only the
// capabilities its systemd unit grants (scripts/deb/bpf-recipes-exporter.service, read here), serves
// syscount and biosnoop from one process, and a real Prometheus server scrapes it. The workloads run
// under names no other process has, set as per-tool filters in a JSON config file, so every count
// is exact: a dd of N one-byte writes, and a process writing M blocks of 64 KiB with O_DIRECT.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  PROMTOOL, freePort, holdPort, portOf, repoRoot, run, runToolSync, sample, skipPrivileged, startPrometheus, toolBin, toolCopyForAnyUser, uniquelyNamed,
} from '@bpf-recipes/testing';

const N = 3000;
const M = 6;
const UNIT = join(repoRoot, 'scripts', 'deb', 'bpf-recipes-exporter.service');
const bioWorkload = (name: string) => String.raw`
import ctypes, mmap, os, sys
ctypes.CDLL(None).prctl(15, b'${name}', 0, 0, 0)
buf = mmap.mmap(-1, 65536)
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
for _ in range(${M}): os.write(fd, buf)
os.close(fd)
`;

/** The unit's AmbientCapabilities in setpriv's spelling, less those this machine's bounding set lacks. */
function unitCapabilities(): { caps: string; missing: string[] } {
  const names = /^AmbientCapabilities=(.+)$/m.exec(readFileSync(UNIT, 'utf8'))![1].trim().split(/\s+/);
  const bounding = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
  const number: Record<string, number> = { CAP_DAC_READ_SEARCH: 2, CAP_SYS_PTRACE: 19, CAP_SYS_ADMIN: 21, CAP_SYS_RESOURCE: 24, CAP_PERFMON: 38, CAP_BPF: 39, CAP_NET_ADMIN: 12 };
  const have = names.filter((n) => (bounding >> BigInt(number[n])) & 1n);
  return { caps: have.map((n) => `+${n.slice(4).toLowerCase()}`).join(','), missing: names.filter((n) => !have.includes(n)) };
}

/** Start a command; resolves once its stderr has a "Tracing" line. */
async function startExporter(cmd: string, args: string[]) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => p.on('close', (c) => r(c)));
  const end = Date.now() + 30000;
  while (!/^Tracing/m.test(err) && p.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  if (!/^Tracing/m.test(err)) throw new Error(`exporter did not start:\n${out}\n${err}`);
  return {
    pid: p.pid!,
    err: () => err,
    out: () => out,
    async stop() {
      p.kill('SIGTERM');
      return exited;
    },
  };
}

describe.skipIf(skipPrivileged())('bpf-recipes exporter', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-exporter-'));
  chmodSync(dir, 0o755);
  const ioDir = mkdtempSync('/var/tmp/bpf-recipes-exporter-io-');
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(ioDir, { recursive: true, force: true });
  });

  it('syscount and biosnoop in one process, as nobody with the unit\'s capabilities, scraped by a real Prometheus: exact PromQL', async () => {
    const dd = uniquelyNamed('/bin/dd', 'ddexp');
    const ddComm = basename(dd);
    const bioComm = `bioexp${process.pid % 100000}`;
    const config = join(dir, 'exporter.json');
    writeFileSync(config, JSON.stringify({ tools: { syscount: { latency: true, name: ddComm }, biosnoop: { name: bioComm } } }));
    chmodSync(config, 0o644);
    const port = await freePort();
    const { caps, missing } = unitCapabilities();
    // this container's bounding set lacks CAP_SYS_RESOURCE (only kernels before 5.11 need it)
    expect(missing.filter((c) => c !== 'CAP_SYS_RESOURCE')).toEqual([]);
    const copy = toolCopyForAnyUser('bpf-recipes');
    const prom = await startPrometheus({ exporter: `127.0.0.1:${port}` });
    const exp = await startExporter('setpriv', [
      '--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=-all,${caps}`, `--ambient-caps=-all,${caps}`, `--bounding-set=-all,${caps}`,
      copy.bin, 'exporter', '--listen', `127.0.0.1:${port}`, '--config', config,
    ]);
    try {
      // it really is nobody, with no capability but the unit's
      const status = readFileSync(`/proc/${exp.pid}/status`, 'utf8');
      expect(/^Uid:\s+(\d+)/m.exec(status)![1]).toBe('65534');
      expect(exp.err()).toBe(`Tracing for metrics: syscount, biosnoop, served at http://127.0.0.1:${port}/metrics. Hit Ctrl-C to end.\n`);

      expect((await run(dd, ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${N}`, 'status=none'])).code).toBe(0);
      const py = await run('python3', ['-c', bioWorkload(bioComm), `${ioDir}/f`]);
      expect(py.code, py.stderr).toBe(0);

      // the exporter's own scrape: both tools, promtool has nothing to say
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(sample(text, 'bpf_recipes_build_info{tool="syscount",version="0.1.0"}')).toBe(1);
      expect(sample(text, 'bpf_recipes_build_info{tool="biosnoop",version="0.1.0"}')).toBe(1);
      expect(sample(text, 'bpf_recipes_events_lost_total{tool="biosnoop"}')).toBe(0);
      const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(lint.stdout + lint.stderr).toBe('');

      // through Prometheus
      const up = await prom.until('up{job="exporter"}', (r) => r[0]?.value[1] === '1');
      expect(up.map((s) => s.value[1]), prom.log()).toEqual(['1']);
      const writes = await prom.until('bpf_recipes_syscalls_total{job="exporter",syscall="write"}', (r) => r[0]?.value[1] === String(N));
      expect(writes.map((s) => s.value[1])).toEqual([String(N)]);
      const lat = await prom.until('bpf_recipes_syscall_duration_seconds_count{job="exporter",syscall="write"}', (r) => r[0]?.value[1] === String(N));
      expect(lat.map((s) => s.value[1])).toEqual([String(N)]);
      const bytes = await prom.until('sum(bpf_recipes_block_io_bytes_total{job="exporter",op="write"})', (r) => r[0]?.value[1] === String(M * 65536));
      expect(bytes.map((s) => s.value[1])).toEqual([String(M * 65536)]);
      const count = await prom.query('sum(bpf_recipes_block_io_duration_seconds_count{job="exporter",op="write"})');
      expect(count.map((s) => s.value[1])).toEqual([String(M)]);
      // the median of the direct writes' latency: Prometheus' interpolation within our exact buckets,
      // computed here from the same buckets as served (the workload is over: they no longer change)
      const now = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const disk = /^bpf_recipes_block_io_bytes_total\{disk="([^"]+)",op="write"\}/m.exec(now)![1];
      const buckets = now.split('\n').filter((l) => l.startsWith(`bpf_recipes_block_io_duration_seconds_bucket{disk="${disk}",op="write",`))
        .map((l) => ({ le: Number(/le="([^"]+)"/.exec(l)![1].replace('+Inf', 'Infinity')), n: Number(l.split(' ')[1]) }));
      expect(buckets.at(-1)!.n).toBe(M);
      const rank = 0.5 * M;
      const i = buckets.findIndex((b) => b.n >= rank);
      const lo = i === 0 ? 0 : buckets[i - 1].le;
      const below = i === 0 ? 0 : buckets[i - 1].n;
      const expected = lo + (buckets[i].le - lo) * ((rank - below) / (buckets[i].n - below));
      const q = await prom.query(`histogram_quantile(0.5, bpf_recipes_block_io_duration_seconds_bucket{job="exporter",disk="${disk}",op="write"})`);
      expect(q).toHaveLength(1);
      expect(Number(q[0].value[1])).toBeCloseTo(expected, 12);
    } finally {
      expect(await exp.stop()).toBe(0);
      await prom.stop();
      copy.dispose();
    }
  }, 90000);

  it('bad input: one line each; usage errors exit 2, a taken port or a tool that cannot load exits 1; nothing left serving', async () => {
    const once = (args: string[]) => {
      const r = runToolSync('bpf-recipes', ['exporter', ...args]);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr.trimEnd().split('\n'), `${args.join(' ')}: ${r.stderr}`).toHaveLength(1);
      return { code: r.code, err: r.stderr.trimEnd() };
    };
    const port = await freePort();
    expect(once(['--listen', 'x:y'])).toEqual({ code: 2, err: "bpf-recipes exporter: --listen: 'x:y' is not HOST:PORT (e.g. 127.0.0.1:9469, :9469, or 0.0.0.0:9469 for every interface) (see bpf-recipes exporter --help)" });
    expect(once(['--listen', '127.0.0.1:70000']).code).toBe(2);
    expect(once(['--listen', `0.0.0.0:${port}`])).toEqual({
      code: 2,
      err: 'bpf-recipes exporter: --listen: 0.0.0.0 is not a loopback address, so other machines could read the metrics: add --allow-remote ("allowRemote": true in the config) to mean it (see bpf-recipes exporter --help)',
    });
    // named as meant, but not an address of this machine: a runtime failure
    expect(once(['--listen', '192.0.2.1:9469', '--allow-remote', '--tools', 'syscount']).code).toBe(1);
    expect(once(['--tools', 'nope']).code).toBe(2);
    expect(once(['--tools', 'stackcount,syscount']).err).toMatch(/^bpf-recipes exporter: --tools: stackcount has no metrics of its own yet \(tools with metrics: .*syscount/);
    const bad = join(dir, 'bad.json');
    for (const [text, why] of [
      ['{"tools": {"syscount": {"latency": "yes"}}}', 'syscount.latency must be a boolean'],
      ['{"tools": {"syscount": {"pid": 1}}}', "syscount has no option 'pid'"],
      ['{"listen": 9469}', 'listen must be a string'],
      ['{"tools": ', 'is not JSON'],
    ]) {
      writeFileSync(bad, text);
      const r = once(['--config', bad, '--listen', `:${port}`]);
      expect(r.code, text).toBe(2);
      expect(r.err, text).toContain(why);
    }
    // a port in use: exit 1, one line, before any tool is loaded
    const held = await holdPort();
    try {
      expect(once(['--listen', `127.0.0.1:${portOf(held)}`, '--tools', 'syscount'])).toEqual({
        code: 1, err: `bpf-recipes exporter: --listen: 127.0.0.1:${portOf(held)} is already in use (give another port)`,
      });
    } finally {
      await new Promise((r) => held.close(r));
    }
    // the second tool cannot start (no such disk) after the first one loaded: all of it undone
    writeFileSync(bad, JSON.stringify({ tools: { syscount: {}, biosnoop: { disk: 'no-such-disk' } } }));
    expect(once(['--config', bad, '--listen', `:${port}`])).toEqual({
      code: 2, err: "bpf-recipes exporter: biosnoop: --disk: no block device 'no-such-disk' (lsblk lists them) (see bpf-recipes exporter --help)",
    });
    // and the port it had bound is free again
    const probe = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${port}, '127.0.0.1', function () { this.close(); })`]);
    expect(probe.status).toBe(0);
  }, 60000);

  it('the systemd unit: systemd-analyze verify finds nothing; least privilege as shipped', () => {
    const unit = readFileSync(UNIT, 'utf8');
    for (const d of ['DynamicUser=yes', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadOnlyPaths=/', 'ProtectHome=yes', 'PrivateDevices=yes',
      'CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_DAC_READ_SEARCH CAP_SYS_RESOURCE']) {
      expect(unit.split('\n'), d).toContain(d);
    }
    // the installed unit names the .deb's command and man page; here: the built command, no man page
    const copy = join(dir, 'bpf-recipes-exporter.service');
    writeFileSync(copy, unit.replace('/usr/lib/bpf-recipes/bin/bpf-recipes', toolBin('bpf-recipes')).replace(/^Documentation=.*\n/m, ''));
    const v = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    expect(v.stdout + v.stderr).toBe('');
    expect(v.status).toBe(0);
  });
});
