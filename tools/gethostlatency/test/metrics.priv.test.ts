// Privileged: gethostlatency --metrics on the real kernel and libc. The workload, under a name of
// this file's own (ghl-metrics: no other test's workload has it, and the tests run side by side),
// makes N getaddrinfo("localhost") and one gethostbyname("localhost"); -n keeps only its lookups. The histogram is counted in the kernel (lookup_metrics, per CPU) and
// read at the scrape; the events still print as usual, and the series must agree with them exactly.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session } from '@bpf-recipes/cli';
import { MetricsRegistry } from '@bpf-recipes/metrics';
import { PROMTOOL, fixture, freePort, heldPrograms, run, sample, skipPrivileged, startTool } from '@bpf-recipes/testing';

const N = 6;

describe.skipIf(skipPrivileged())('gethostlatency --metrics', () => {
  const NAME = 'ghl-metrics';
  let dir: string;
  let gw: string;
  beforeAll(() => {
    dir = mkdtempSync('/tmp/bpf-recipes-ghl-metrics-');
    gw = join(dir, NAME);
    copyFileSync(fixture('gethostlatency-workload'), gw);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('name_lookup_duration_seconds{func}: count, exact sum and buckets of the lookups it printed; promtool has nothing to say', async () => {
    const port = await freePort();
    const tool = await startTool('gethostlatency', ['--json', '-n', NAME, '--metrics', `127.0.0.1:${port}`]);
    let text: string;
    try {
      const a = await run(gw, ['getaddrinfo', 'localhost', String(N)]);
      const b = await run(gw, ['gethostbyname', 'localhost']);
      expect([a.code, b.code]).toEqual([0, 0]);
      await tool.waitForLine(new RegExp(`"pid":${b.pid}`));
      text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    } finally {
      expect((await tool.stop('SIGINT')).code).toBe(0);
    }
    const events = tool.lines().map((l) => JSON.parse(l) as { func: string; latency_us: number });
    for (const [func, n] of [['getaddrinfo', N], ['gethostbyname', 1]] as const) {
      const mine = events.filter((e) => e.func === func);
      expect(mine).toHaveLength(n);
      const f = `{func="${func}"}`;
      expect(sample(text, `bpf_recipes_name_lookup_duration_seconds_count${f}`)).toBe(n);
      expect(sample(text, `bpf_recipes_name_lookup_duration_seconds_bucket{func="${func}",le="+Inf"}`)).toBe(n);
      // the kernel's exact sum; the events' latency_us are rounded to 0.01 µs
      const sum = sample(text, `bpf_recipes_name_lookup_duration_seconds_sum${f}`)!;
      expect(Math.abs(sum - mine.reduce((s, e) => s + e.latency_us, 0) / 1e6)).toBeLessThanOrEqual(n * 5e-9 + 1e-12);
      // each lookup in the bucket of its own latency
      const buckets = text.split('\n').filter((l) => l.startsWith(`bpf_recipes_name_lookup_duration_seconds_bucket{func="${func}",`));
      expect(buckets).toHaveLength(32);
      for (const l of buckets) {
        const le = /le="([^"]+)"/.exec(l)![1];
        if (le === '+Inf') continue;
        const count = Number(l.split(' ')[1]);
        expect(count, l).toBeGreaterThanOrEqual(mine.filter((e) => e.latency_us / 1e6 <= Number(le) - 1e-8).length);
        expect(count, l).toBeLessThanOrEqual(mine.filter((e) => e.latency_us / 1e6 <= Number(le) + 1e-8).length);
      }
    }
    // only functions that were called have series, and no pid, comm or host label
    expect(text).not.toMatch(/^bpf_recipes_name_lookup_duration_seconds_count\{func="gethostbyaddr/m);
    expect(text).not.toMatch(/^bpf_recipes_name_lookup_\w+\{[^}]*(pid|comm|host)=/m);
    expect(sample(text, 'bpf_recipes_build_info{tool="gethostlatency",version="0.1.0"}')).toBe(1);
    expect(sample(text, 'bpf_recipes_events_lost_total{tool="gethostlatency"}')).toBe(0);
    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });

  it("the exporter's open(): the same probes counting only (no event in the ring buffer), read by register()", async () => {
    // the built module, as the exporter loads it (its object path is relative to dist/)
    const { metrics: { open, register } } = await import('../dist/src/tool.js');
    const session = new Session({ tool: 'gethostlatency', filters: { comm: NAME } });
    const before = heldPrograms(process.pid).length;
    try {
      const skel = open(session, {});
      let events = 0;
      session.follow(skel.maps.events, () => void events++);
      const reg = new MetricsRegistry();
      register(reg.addTool({ tool: 'gethostlatency', version: '0.1.0', lost: () => session.lost() }), skel);
      expect((await run(gw, ['getaddrinfo', 'localhost', String(N)])).code).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
      const text = await reg.registry.metrics();
      expect(sample(text, 'bpf_recipes_name_lookup_duration_seconds_count{func="getaddrinfo"}')).toBe(N);
      expect(events).toBe(0);
      expect(session.lost()).toBe(0);
    } finally {
      await session.detach();
      session.close();
    }
    expect(heldPrograms(process.pid).length).toBe(before);
  });
});
