// Privileged: syscount --metrics on the real kernel, scraped over HTTP, linted by promtool, and
// scraped by a real Prometheus server. The workload is a dd under a name no other process has
// (-n), so the counts are exact: dd bs=1 count=N status=none makes N write(2) calls.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, runToolSync, skipPrivileged, startTool, toolBin, uniquelyNamed } from '@bpf-recipes/testing';

const N = 5000;
const PROMTOOL = '/usr/bin/promtool';
const PROMETHEUS = '/usr/bin/prometheus';

/** a port free at this moment (the kernel's pick), and a server holding one */
const holdPort = (): Promise<Server> =>
  new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => res(s));
  });
const portOf = (s: Server) => (s.address() as { port: number }).port;
const freePort = async (): Promise<number> => {
  const s = await holdPort();
  const p = portOf(s);
  await new Promise((r) => s.close(r));
  return p;
};

/** the value of one sample line of a Prometheus text scrape */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe.skipIf(skipPrivileged())('syscount --metrics', () => {
  const dd = uniquelyNamed('/bin/dd', 'ddmet');
  const comm = basename(dd);
  const ddRun = () => run(dd, ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${N}`, 'status=none']);

  it('serves the exact write count of a dd, a -L histogram without a lost count, and text promtool accepts', async () => {
    const port = await freePort();
    const tool = await startTool('syscount', ['-L', '-n', comm, '--metrics', `127.0.0.1:${port}`]);
    try {
      const r = await ddRun();
      expect(r.code).toBe(0);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      expect(sample(text, 'bpf_recipes_syscalls_total{syscall="write"}')).toBe(N);
      expect(sample(text, 'bpf_recipes_syscall_errors_total{syscall="write"}')).toBe(0);
      expect(sample(text, 'bpf_recipes_build_info{tool="syscount",version="0.1.0"}')).toBe(1);
      expect(sample(text, 'bpf_recipes_events_lost_total{tool="syscount"}')).toBe(0);
      expect(text).toMatch(/^bpf_recipes_process_cpu_seconds_total \d/m);
      // the histogram: every write in it (+Inf and _count), cumulative buckets, le = 2^k µs - 1 ns
      const w = 'bpf_recipes_syscall_duration_seconds';
      expect(sample(text, `${w}_count{syscall="write"}`)).toBe(N);
      expect(sample(text, `${w}_bucket{syscall="write",le="+Inf"}`)).toBe(N);
      const buckets = text.split('\n').filter((l) => l.startsWith(`${w}_bucket{syscall="write",`));
      expect(buckets).toHaveLength(40);
      expect(buckets[0]).toMatch(/le="9\.99e-7"/); // 2^k µs - 1 ns: a write of exactly 1 µs is in slot 1
      expect(buckets[10]).toMatch(/le="0\.001023999"/);
      const counts = buckets.map((l) => Number(l.split(' ')[1]));
      for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]);
      const sum = sample(text, `${w}_sum{syscall="write"}`)!;
      expect(sum).toBeGreaterThan(0);
      expect(sum).toBeLessThan(N * 0.01); // 5000 writes to /dev/null take well under 10 ms each
      // promtool has nothing to say about it
      const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(lint.stdout + lint.stderr).toBe('');
      expect(lint.status).toBe(0);
      // OpenMetrics when asked; the Prometheus text keeps its _total names after it
      const om = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } });
      expect(om.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
      const omText = await om.text();
      expect(omText).toMatch(/^# TYPE bpf_recipes_syscalls counter$/m);
      expect(sample(omText, 'bpf_recipes_syscalls_total{syscall="write"}')).toBe(N);
      expect(omText.endsWith('# EOF\n')).toBe(true);
      expect(sample(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), 'bpf_recipes_syscalls_total{syscall="write"}')).toBe(N);
      // / links to /metrics; anything else is 404, other methods 405
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toContain('href="/metrics"');
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST', body: 'x' })).status).toBe(405);
    } finally {
      const end = await tool.stop('SIGINT');
      expect(end.code).toBe(0);
    }
    // the normal output is still there, with the same count
    expect(tool.stdout()).toMatch(new RegExp(`^write\\s+${N}\\s+0\\s`, 'm'));
  });

  it('--metrics with a malformed ADDR: one line, exit 2', () => {
    for (const bad of ['localhost:', 'x:y', '127.0.0.1:99999', ':0', 'a b:80', '[::1]']) {
      const r = runToolSync('syscount', ['--metrics', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n'), bad).toHaveLength(1);
      expect(r.stderr).toMatch(/^syscount: --metrics: /);
    }
  });

  it('--metrics on a port in use: one line, exit 1, before anything is loaded', async () => {
    const held = await holdPort();
    try {
      const port = portOf(held);
      const r = runToolSync('syscount', ['--metrics', `:${port}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`syscount: --metrics: 127.0.0.1:${port} is already in use (give another port)\n`);
      // the timing marks show it stopped before the BPF object was opened: nothing was ever attached
      const t = spawnSync(toolBin('syscount'), ['--metrics', `${port}`], {
        encoding: 'utf8', env: { ...process.env, BPF_RECIPES_TIMING: '1' },
      });
      expect(t.status).toBe(1);
      expect(t.stderr).toMatch(/timing: options parsed/);
      expect(t.stderr).not.toMatch(/timing: (preflight done|object opened|loaded|attached)/);
    } finally {
      await new Promise((r) => held.close(r));
    }
  });

  describe('scraped by a real Prometheus server', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-prom-'));
    let prom: ChildProcess | undefined;
    afterAll(async () => {
      if (prom && prom.exitCode === null) {
        prom.kill('SIGTERM');
        await new Promise((r) => prom!.on('close', r));
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it('has the target up and the exact write count through PromQL', async () => {
      const port = await freePort();
      const promPort = await freePort();
      const tool = await startTool('syscount', ['-n', comm, '--metrics', `127.0.0.1:${port}`]);
      try {
        writeFileSync(join(dir, 'prometheus.yml'), [
          'global:',
          '  scrape_interval: 1s',
          'scrape_configs:',
          '  - job_name: syscount',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${port}']`,
          '',
        ].join('\n'));
        let promLog = '';
        prom = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
        prom.stdout!.on('data', (d) => (promLog += d));
        prom.stderr!.on('data', (d) => (promLog += d));
        const r = await ddRun();
        expect(r.code).toBe(0);
        const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
          try {
            const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
            const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
            return body.status === 'success' ? body.data.result : [];
          } catch {
            return []; // not listening yet
          }
        };
        const writes = `bpf_recipes_syscalls_total{job="syscount",syscall="write"}`;
        let up: Awaited<ReturnType<typeof query>> = [];
        let got: Awaited<ReturnType<typeof query>> = [];
        const end = Date.now() + 30000;
        while (Date.now() < end) {
          up = await query('up{job="syscount"}');
          got = await query(writes);
          if (up[0]?.value[1] === '1' && got[0]?.value[1] === String(N)) break;
          await new Promise((res) => setTimeout(res, 500));
        }
        expect(up.map((s) => s.value[1]), promLog).toEqual(['1']);
        expect(got.map((s) => [s.metric.instance, s.value[1]])).toEqual([[`127.0.0.1:${port}`, String(N)]]);
      } finally {
        expect((await tool.stop('SIGINT')).code).toBe(0);
      }
    }, 60000);
  });
});
