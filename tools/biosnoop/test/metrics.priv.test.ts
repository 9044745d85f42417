// Privileged: biosnoop --metrics on the real kernel. The workload names itself (prctl) with a name
// no other process has, so -n keeps only its requests: N direct-I/O writes of 4 KiB each, one
// request each (the comm test in bytes.priv.test.ts shows the same). The series are counted in the
// kernel (io_metrics, per CPU) and read at the scrape; the events still print as usual.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { PROMTOOL, freePort, run, sample, skipPrivileged, startTool } from '@bpf-recipes/testing';

const N = 8;
const workload = (name: string) => String.raw`
import ctypes, mmap, os, sys
ctypes.CDLL(None).prctl(15, b'${name}', 0, 0, 0)
buf = mmap.mmap(-1, 4096)
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
for _ in range(${N}): os.write(fd, buf)
os.close(fd)
`;

describe.skipIf(skipPrivileged())('biosnoop --metrics', () => {
  const dir = mkdtempSync('/var/tmp/bpf-recipes-bio-metrics-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('counts the workload\'s direct writes in the kernel: bytes, a latency histogram per disk and op, exact', async () => {
    const name = `biom${process.pid % 100000}`;
    const port = await freePort();
    const tool = await startTool('biosnoop', ['--json', '-n', name, '--metrics', `127.0.0.1:${port}`]);
    let text: string;
    try {
      const py = await run('python3', ['-c', workload(name), `${dir}/f`]);
      expect(py.code, py.stderr).toBe(0);
      await tool.waitForLine(/"len":4096/);
      await new Promise((r) => setTimeout(r, 300));
      text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    } finally {
      expect((await tool.stop('SIGINT')).code).toBe(0);
    }
    // the events, as ever: N writes of 4 KiB
    const events = tool.lines().map((l) => JSON.parse(l)).filter((e) => e.comm === name && e.rwbs.startsWith('W') && e.len === 4096);
    expect(events).toHaveLength(N);
    const disk = events[0].disk as string;
    const w = `{disk="${disk}",op="write"}`;
    expect(sample(text, `bpf_recipes_block_io_bytes_total${w}`)).toBe(N * 4096);
    expect(sample(text, `bpf_recipes_block_io_duration_seconds_count${w}`)).toBe(N);
    const le = (b: string) => `bpf_recipes_block_io_duration_seconds_bucket{disk="${disk}",op="write",le="${b}"}`;
    expect(sample(text, le('+Inf'))).toBe(N);
    // the exact sum of the latencies biosnoop printed (µs to 0.01 there)
    const sum = sample(text, `bpf_recipes_block_io_duration_seconds_sum${w}`)!;
    const printed = events.reduce((s, e) => s + e.latency_us, 0) / 1e6;
    expect(Math.abs(sum - printed)).toBeLessThan(N * 1e-6);
    // each request in the bucket of its own latency: the count at a bound = the events at or below it
    const buckets = text.split('\n').filter((l) => l.startsWith(`bpf_recipes_block_io_duration_seconds_bucket{disk="${disk}",op="write",`));
    expect(buckets).toHaveLength(32);
    for (const l of buckets) {
      const b = /le="([^"]+)"/.exec(l)![1];
      if (b === '+Inf') continue;
      const below = events.filter((e) => e.latency_us / 1e6 <= Number(b) - 5e-7).length;
      const above = events.filter((e) => e.latency_us / 1e6 <= Number(b) + 5e-7).length;
      const n = Number(l.split(' ')[1]);
      expect(n, l).toBeGreaterThanOrEqual(below);
      expect(n, l).toBeLessThanOrEqual(above);
    }
    expect(sample(text, 'bpf_recipes_build_info{tool="biosnoop",version="0.1.0"}')).toBe(1);
    expect(sample(text, 'bpf_recipes_events_lost_total{tool="biosnoop"}')).toBe(0);
    // no pid, comm or sector label: only disk and op
    expect(text).not.toMatch(/^bpf_recipes_block_io_\w+\{[^}]*(pid|comm|sector)=/m);
    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });
});
