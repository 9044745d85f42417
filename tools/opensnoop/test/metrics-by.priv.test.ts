// Privileged: opensnoop --metrics --metrics-by comm|cgroup on the real kernel. Three copies of the
// fixture under names no other process has (one prefix, so -n keeps only them) open a path below a
// file, each a known number of times: ENOTDIR, which their loader never gets, so those counts are
// exact. --metrics-top 2: the two largest keep their comm, the third is comm="other".
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Session, cgroup2Mount } from '@bpf-recipes/cli';
import { MetricsRegistry } from '@bpf-recipes/metrics';
import { PROMTOOL, fixture, freePort, heldPrograms, run, sample, skipPrivileged, startTool } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('opensnoop --metrics-by', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-open-mby-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const prefix = `ob${process.pid % 100000}`;
  const notDir = join(dir, 'file');
  writeFileSync(notDir, '');
  const below = join(notDir, 'x'); // ENOTDIR
  const copy = (tag: string) => {
    const bin = join(dir, `${prefix}${tag}`);
    copyFileSync(fixture('workload'), bin);
    chmodSync(bin, 0o755);
    return bin;
  };

  it('comm: the top 2 comms with their exact ENOTDIR counts, the third in comm="other"; promtool clean', async () => {
    const [a, b, c] = [copy('a'), copy('b'), copy('c')];
    const port = await freePort();
    const tool = await startTool('opensnoop', ['-n', prefix, '--metrics', `127.0.0.1:${port}`, '--metrics-by', 'comm', '--metrics-top', '2'], {});
    try {
      for (const [bin, n] of [[a, 7], [b, 5], [c, 3]] as const) expect((await run(bin, ['open', below, String(n)])).code).toBe(0);
      await tool.waitForLine(new RegExp(`${prefix}c`));
      await new Promise((r) => setTimeout(r, 200));
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const notdir = text.split('\n').filter((l) => l.startsWith('bpf_recipes_opens_total{result="ENOTDIR"'));
      expect(notdir.sort()).toEqual([
        `bpf_recipes_opens_total{result="ENOTDIR",comm="${prefix}a"} 7`,
        `bpf_recipes_opens_total{result="ENOTDIR",comm="${prefix}b"} 5`,
        'bpf_recipes_opens_total{result="ENOTDIR",comm="other"} 3',
      ].sort());
      expect(text).not.toMatch(new RegExp(`comm="${prefix}c"`));
      const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(lint.stdout + lint.stderr).toBe('');
      expect(lint.status).toBe(0);
    } finally {
      await tool.stop();
    }
  });

  it("the exporter's open() with metricsBy cgroup: a workload in a child cgroup by its path, the other folded", async () => {
    const { metrics: { open, register } } = await import('../dist/src/tool.js');
    const mount = cgroup2Mount();
    expect(mount, 'a cgroup v2 hierarchy is needed').toBeTruthy();
    const rel = `/bpf-recipes-omby-${process.pid}`;
    mkdirSync(`${mount}${rel}/child`, { recursive: true });
    const [inside, outside] = [copy('i'), copy('o')];
    const session = new Session({ tool: 'opensnoop', filters: { comm: prefix } });
    const before = heldPrograms(process.pid).length;
    try {
      const handles = open(session, { metricsBy: 'cgroup', metricsTop: 1 });
      const reg = new MetricsRegistry();
      register(reg.addTool({ tool: 'opensnoop', version: '0.1.0', lost: () => session.lost() }), handles);
      const p = spawn('sh', ['-c', `echo $$ > ${mount}${rel}/child/cgroup.procs && exec "$0" open "$1" 6`, inside, below], { stdio: 'ignore' });
      expect(await new Promise((r) => p.on('close', r))).toBe(0);
      expect((await run(outside, ['open', below, '2'])).code).toBe(0);
      const text = await reg.registry.metrics();
      expect(sample(text, `bpf_recipes_opens_total{result="ENOTDIR",cgroup="${rel}/child"}`)).toBe(6);
      expect(sample(text, 'bpf_recipes_opens_total{result="ENOTDIR",cgroup="other"}')).toBe(2);
    } finally {
      await session.detach();
      session.close();
      rmdirSync(`${mount}${rel}/child`);
      rmdirSync(`${mount}${rel}`);
    }
    expect(heldPrograms(process.pid).length).toBe(before);
  });
});
