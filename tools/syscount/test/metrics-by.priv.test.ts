// Privileged: syscount --metrics --metrics-by comm|cgroup on the real kernel. The workloads are dd
// copies under names no other process has (one prefix, so -n keeps them all and nothing else):
// dd bs=1 count=N status=none makes N write(2) calls, so each comm's count is exact. With
// --metrics-top 2 the two largest keep their comm and the third is comm="other"; with --metrics-by
// cgroup one dd runs in a child cgroup the test makes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroup2Mount } from '@bpf-recipes/cli';
import { PROMTOOL, freePort, run, runToolSync, sample, skipPrivileged, startTool, uniquelyNamed } from '@bpf-recipes/testing';

const prefix = `sb${process.pid % 100000}`;
const dd = (tag: string) => uniquelyNamed('/bin/dd', `${prefix}${tag}`);
const ddArgs = (n: number) => ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${n}`, 'status=none'];

describe('--metrics-by: usage errors', () => {
  it('names the tools that have it, wants --metrics, a kind and a number; exit 2, one line', () => {
    const cases: [string, string[], RegExp][] = [
      ['biosnoop', ['--metrics', '127.0.0.1:1', '--metrics-by', 'comm'], /^biosnoop: --metrics-by: biosnoop has no series by comm or cgroup \(leave it out\)/],
      ['syscount', ['--metrics-by', 'comm'], /^syscount: --metrics-by: give --metrics ADDR too/],
      ['syscount', ['--metrics', '127.0.0.1:1', '--metrics-by', 'pid'], /^syscount: --metrics-by: 'pid' is not comm, cgroup or container/],
      ['opensnoop', ['--metrics', '127.0.0.1:1', '--metrics-by', 'comm', '--metrics-top', '0'], /^opensnoop: --metrics-top: '0' is not a whole number/],
      ['syscount', ['--metrics', '127.0.0.1:1', '--metrics-top', '3'], /^syscount: --metrics-top goes with --metrics-by/],
    ];
    for (const [tool, args, msg] of cases) {
      const r = runToolSync(tool, args);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.code).toBe(2);
    }
  });

  it('the exporter config: metricsBy of a tool without it is a usage error before anything is bound', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-mby-'));
    try {
      const cfg = join(dir, 'c.json');
      writeFileSync(cfg, JSON.stringify({ tools: { biosnoop: { metricsBy: 'comm' } } }));
      let r = runToolSync('bpf-recipes', ['exporter', '--config', cfg]);
      expect(r.stderr).toMatch(/biosnoop\.metricsBy: biosnoop has no series by comm or cgroup \(tools that have: killsnoop, opensnoop, syscount\)/);
      expect(r.code).toBe(2);
      writeFileSync(cfg, JSON.stringify({ tools: { syscount: { metricsBy: 'host' } } }));
      r = runToolSync('bpf-recipes', ['exporter', '--config', cfg]);
      expect(r.stderr).toMatch(/syscount\.metricsBy: 'host' is not comm, cgroup or container/);
      expect(r.code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe.skipIf(skipPrivileged())('syscount --metrics-by', () => {
  it('comm: the top 2 comms with their exact write counts, the third folded into comm="other"; promtool clean', async () => {
    const [a, b, c] = [dd('a'), dd('b'), dd('c')];
    const port = await freePort();
    const tool = await startTool('syscount', ['-n', prefix, '--syscall', 'write', '--metrics', `127.0.0.1:${port}`, '--metrics-by', 'comm', '--metrics-top', '2']);
    try {
      for (const [bin, n] of [[a, 3000], [b, 2000], [c, 1000]] as const) expect((await run(bin, ddArgs(n))).code).toBe(0);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const series = text.split('\n').filter((l) => l.startsWith('bpf_recipes_syscalls_total{'));
      expect(series.sort()).toEqual([
        `bpf_recipes_syscalls_total{syscall="write",comm="${basename(a)}"} 3000`,
        `bpf_recipes_syscalls_total{syscall="write",comm="${basename(b)}"} 2000`,
        'bpf_recipes_syscalls_total{syscall="write",comm="other"} 1000',
      ].sort());
      expect(sample(text, 'bpf_recipes_syscall_errors_total{syscall="write",comm="other"}')).toBe(0);
      const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(lint.stdout + lint.stderr).toBe('');
      expect(lint.status).toBe(0);
    } finally {
      await tool.stop();
    }
  });

  it('the exporter: metricsBy/metricsTop in the config file, the same series exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-mby-exp-'));
    const [a, b] = [dd('x'), dd('y')];
    const port = await freePort();
    const cfg = join(dir, 'exporter.json');
    writeFileSync(cfg, JSON.stringify({ listen: `127.0.0.1:${port}`, tools: { syscount: { name: prefix, syscall: 'write', metricsBy: 'comm', metricsTop: 1 } } }));
    const exp = await startTool('bpf-recipes', ['exporter', '--config', cfg]);
    try {
      expect((await run(a, ddArgs(1500))).code).toBe(0);
      expect((await run(b, ddArgs(500))).code).toBe(0);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text.split('\n').filter((l) => l.startsWith('bpf_recipes_syscalls_total{')).sort()).toEqual([
        `bpf_recipes_syscalls_total{syscall="write",comm="${basename(a)}"} 1500`,
        'bpf_recipes_syscalls_total{syscall="write",comm="other"} 500',
      ].sort());
    } finally {
      await exp.stop();
      rmSync(dir, { recursive: true });
    }
  });

  it('cgroup: a dd in a child cgroup the test makes, labelled by its path; the rest "other"', async () => {
    const mount = cgroup2Mount();
    expect(mount, 'a cgroup v2 hierarchy is needed').toBeTruthy();
    const rel = `/bpf-recipes-mby-${process.pid}`;
    const cg = `${mount}${rel}`;
    mkdirSync(`${cg}/child`, { recursive: true });
    const [inside, outside] = [dd('i'), dd('o')];
    const port = await freePort();
    const tool = await startTool('syscount', ['-n', prefix, '--syscall', 'write', '--metrics', `127.0.0.1:${port}`, '--metrics-by', 'cgroup', '--metrics-top', '1']);
    try {
      // the shell moves itself into the child cgroup, then becomes the dd (its own write is not a dd's)
      const p = spawn('sh', ['-c', `echo $$ > ${cg}/child/cgroup.procs && exec "$0" "$@"`, inside, ...ddArgs(3000)], { stdio: 'ignore' });
      expect(await new Promise((r) => p.on('close', r))).toBe(0);
      expect((await run(outside, ddArgs(1000))).code).toBe(0);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const series = text.split('\n').filter((l) => l.startsWith('bpf_recipes_syscalls_total{'));
      expect(series.sort()).toEqual([
        `bpf_recipes_syscalls_total{syscall="write",cgroup="${rel}/child"} 3000`,
        'bpf_recipes_syscalls_total{syscall="write",cgroup="other"} 1000',
      ].sort());
      const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(lint.stdout + lint.stderr).toBe('');
    } finally {
      await tool.stop();
      rmdirSync(`${cg}/child`);
      rmdirSync(cg);
    }
  });
});
