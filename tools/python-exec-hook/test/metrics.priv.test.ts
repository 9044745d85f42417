// Privileged: python-exec-hook --metrics on the real kernel. Python runs under names no other
// process has (copies of the interpreter: python9NNNNN matches the default ^python[0-9.]*$,
// python9NNNNNx does not), so -n keeps only the test's processes. The count is kept in the kernel
// (execs, per CPU; the kernel makes the whole default match) and must equal the PIDs printed.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Session } from '@bpf-recipes/cli';
import { MetricsRegistry } from '@bpf-recipes/metrics';
import { PROMTOOL, freePort, heldPrograms, run, runToolSync, sample, skipPrivileged, startTool } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('python-exec-hook --metrics', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-py-metrics-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('python_execs_total: each new Python process once (not again when it execs Python again), as printed; promtool has nothing to say', async () => {
    const name = `python9${process.pid % 100000}`;
    const py = join(dir, name);
    const notPy = join(dir, `${name}x`);
    copyFileSync(realpathSync('/usr/bin/python3'), py);
    copyFileSync(realpathSync('/usr/bin/python3'), notPy);
    spawnSync('chmod', ['755', py, notPy]);
    const port = await freePort();
    const tool = await startTool('python-exec-hook', ['-n', name, '--metrics', `127.0.0.1:${port}`]);
    let text: string;
    const pids: number[] = [];
    try {
      for (let i = 0; i < 3; i++) pids.push((await run(py, ['-c', 'pass'])).pid);
      // one process, two execs of Python: one count
      const twice = await run(py, ['-c', 'import os, sys; os.execv(sys.executable, [sys.executable, "-c", "pass"])']);
      expect(twice.code).toBe(0);
      pids.push(twice.pid);
      expect((await run(notPy, ['-c', 'pass'])).code).toBe(0);
      await tool.waitForLine(new RegExp(`^${twice.pid}$`));
      await new Promise((r) => setTimeout(r, 300));
      text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    } finally {
      expect((await tool.stop('SIGINT')).code).toBe(0);
    }
    expect(tool.lines().map(Number)).toEqual(pids);
    expect(sample(text, 'bpf_recipes_python_execs_total')).toBe(4);
    expect(sample(text, 'bpf_recipes_build_info{tool="python-exec-hook",version="0.1.0"}')).toBe(1);
    expect(sample(text, 'bpf_recipes_events_lost_total{tool="python-exec-hook"}')).toBe(0);
    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });

  it('a --match the kernel cannot make whole: one line, exit 2', async () => {
    const r = runToolSync('python-exec-hook', ['--match', '^(python|uwsgi)$', '--metrics', `127.0.0.1:${await freePort()}`]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("python-exec-hook: --metrics: Python execs are counted in the kernel, which matches ^NAME, ^NAME$ or ^NAME[0-9.]*$ (NAME literal, at most 15 bytes): --match '^(python|uwsgi)$' is none of these (see python-exec-hook --help)\n");
  });

  it("the exporter's open(): the same program counting only (no event in the ring buffer), read by register()", async () => {
    // the built module, as the exporter loads it (its object path is relative to dist/)
    const { open, register } = await import('../dist/src/metrics.js');
    const name = `python8${process.pid % 100000}`;
    const py = join(dir, name);
    copyFileSync(realpathSync('/usr/bin/python3'), py);
    spawnSync('chmod', ['755', py]);
    const session = new Session({ tool: 'python-exec-hook', filters: { comm: name } });
    const before = heldPrograms(process.pid).length;
    try {
      const skel = open(session, {});
      let events = 0;
      session.follow(skel.maps.events, () => void events++);
      const reg = new MetricsRegistry();
      register(reg.addTool({ tool: 'python-exec-hook', version: '0.1.0', lost: () => session.lost() }), skel);
      for (let i = 0; i < 2; i++) expect((await run(py, ['-c', 'pass'])).code).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
      expect(sample(await reg.registry.metrics(), 'bpf_recipes_python_execs_total')).toBe(2);
      expect(events).toBe(0);
    } finally {
      await session.detach();
      session.close();
    }
    expect(heldPrograms(process.pid).length).toBe(before);
  });
});
