// Privileged: opensnoop --metrics on the real kernel. The workload runs under a name no other
// process has (a copy of the fixture), so -n keeps only its opens: a file opened 5 times, a
// missing one 3 times (and what the loader opens). The counts are kept in the kernel
// (open_results, per CPU) and read at the scrape; they must equal the events printed, by result.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Session } from '@bpf-recipes/cli';
import { MetricsRegistry } from '@bpf-recipes/metrics';
import { PROMTOOL, fixture, freePort, heldPrograms, run, sample, skipPrivileged, startTool } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('opensnoop --metrics', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-open-metrics-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('opens_total{result}: ok and ENOENT, exactly the opens it printed; promtool has nothing to say', async () => {
    const name = `osm${process.pid % 1000000}`;
    const bin = join(dir, name);
    copyFileSync(fixture('workload'), bin);
    chmodSync(bin, 0o755);
    const present = join(dir, 'present');
    writeFileSync(present, 'x');
    const port = await freePort();
    const tool = await startTool('opensnoop', ['--json', '-n', name, '--metrics', `127.0.0.1:${port}`]);
    let text: string;
    try {
      const a = await run(bin, ['open', present, '5']);
      const b = await run(bin, ['open', join(dir, 'missing'), '3']);
      expect([a.code, b.code]).toEqual([0, 0]);
      await tool.waitForLine(/missing/);
      await new Promise((r) => setTimeout(r, 300));
      text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    } finally {
      expect((await tool.stop('SIGINT')).code).toBe(0);
    }
    const events = tool.lines().map((l) => JSON.parse(l) as { comm: string; errno: string | null; path: string });
    expect(events.filter((e) => e.path === present && e.errno === null)).toHaveLength(5);
    expect(events.filter((e) => e.path === join(dir, 'missing') && e.errno === 'ENOENT')).toHaveLength(3);
    const byResult = new Map<string, number>();
    for (const e of events) byResult.set(e.errno ?? 'ok', (byResult.get(e.errno ?? 'ok') ?? 0) + 1);
    const served = text.split('\n').filter((l) => l.startsWith('bpf_recipes_opens_total{'));
    expect(served.map((l) => /result="([^"]+)"/.exec(l)![1]).sort()).toEqual([...byResult.keys()].sort());
    for (const [result, n] of byResult) expect(sample(text, `bpf_recipes_opens_total{result="${result}"}`), result).toBe(n);
    expect(sample(text, 'bpf_recipes_build_info{tool="opensnoop",version="0.1.0"}')).toBe(1);
    expect(sample(text, 'bpf_recipes_events_lost_total{tool="opensnoop"}')).toBe(0);
    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });

  it("the exporter's open(): the same programs counting only (no event in the ring buffer), read by register()", async () => {
    // the built module, as the exporter loads it (its object path is relative to dist/)
    const { metrics: { open, register } } = await import('../dist/src/tool.js');
    const name = `osx${process.pid % 1000000}`;
    const bin = join(dir, name);
    copyFileSync(fixture('workload'), bin);
    chmodSync(bin, 0o755);
    const session = new Session({ tool: 'opensnoop', filters: { comm: name } });
    const before = heldPrograms(process.pid).length;
    try {
      const handles = open(session, { failed: true });
      let events = 0;
      session.follow(handles.skel.maps.events, () => void events++);
      const reg = new MetricsRegistry();
      register(reg.addTool({ tool: 'opensnoop', version: '0.1.0', lost: () => session.lost() }), handles);
      expect((await run(bin, ['open', join(dir, 'missing-too'), '4'])).code).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
      const text = await reg.registry.metrics();
      // -x: only failures are counted (the loader's successful opens are not)
      expect(sample(text, 'bpf_recipes_opens_total{result="ENOENT"}')).toBeGreaterThanOrEqual(4);
      expect(text).not.toMatch(/^bpf_recipes_opens_total\{result="ok"\}/m);
      expect(events).toBe(0);
    } finally {
      await session.detach();
      session.close();
    }
    expect(heldPrograms(process.pid).length).toBe(before);
  });
});
