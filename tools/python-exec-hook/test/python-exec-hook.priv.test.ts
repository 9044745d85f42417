// Privileged: the real python-exec-hook on the real kernel, with Python started by the test.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroup2Mount } from '@bpf-recipes/cli';
import { cliConformance, run, skipPrivileged, startTool, toolBin } from '@bpf-recipes/testing';

const PY = '/usr/bin/python3';

/**
 * Debian bookworm's austin (1.0.1) reads the frames of Python up to 3.9 (3.11 changed their
 * layout): the end-to-end profile runs a 3.9-or-older interpreter — pyenv's on this machine image.
 */
function pythonForAustin(): string | undefined {
  const candidates = ['/usr/bin/python3.9', '/usr/bin/python3.8', '/usr/bin/python3.7'];
  try {
    for (const v of readdirSync('/root/.pyenv/versions').filter((v) => /^3\.[5-9]\./.test(v)).sort().reverse()) {
      candidates.push(`/root/.pyenv/versions/${v}/bin/python${v.split('.').slice(0, 2).join('.')}`);
    }
  } catch { /* no pyenv */ }
  return candidates.find((p) => existsSync(p));
}

describe.skipIf(skipPrivileged())('python-exec-hook on the real kernel', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-pyexec-'));
    expect(existsSync(PY), 'python3 is needed (apt-get install python3)').toBe(true);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const script = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    chmodSync(p, 0o755);
    return p;
  };

  it('counts the executable actually running: #! scripts and a shim once it execs Python; each PID once', async () => {
    const py = script('hello.py', '#!/usr/bin/python3\nimport time\ntime.sleep(0.1)\n');
    const envPy = script('env.py', '#!/usr/bin/env python3\nimport time\ntime.sleep(0.1)\n');
    const sh = script('not-python.sh', '#!/bin/bash\nsleep 0.1\n');
    // a shim in the manner of pyenv: bash first, then exec of the real interpreter
    const shim = script('python3', `#!/bin/bash\nsleep 0.2\nexec ${PY} -c 'import time; time.sleep(0.1)'\n`);
    const tool = await startTool('python-exec-hook', ['--json']);
    const a = await run(py, []);
    const b = await run(envPy, []);
    const c = await run(sh, []);
    const d = await run(shim, []);
    // Python that execs Python again: the same PID, printed once
    const e = await run(PY, ['-c', `import os; os.execv("${PY}", ["python3", "-c", "pass"])`]);
    await new Promise((r) => setTimeout(r, 300));
    await tool.stop();
    const events = tool.lines().map((l) => JSON.parse(l));
    const pids = events.map((x) => x.pid);
    for (const p of [a, b, d, e]) expect(pids.filter((x) => x === p.pid), `pid ${p.pid}`).toHaveLength(1);
    expect(pids).not.toContain(c.pid);
    const first = events.find((x) => x.pid === a.pid);
    expect(first).toMatchObject({ comm: 'hello.py', filename: py, exe: '/usr/bin/python3.11', uid: 0, ppid: process.pid });
    expect(first.argv).toEqual([PY, py]);
    expect(events.find((x) => x.pid === d.pid).exe).toMatch(/python3/);
  });

  it('stdout is bare PIDs only, one per line', async () => {
    const tool = await startTool('python-exec-hook', []);
    const p = await run(PY, ['-c', 'pass']);
    await tool.waitForLine(new RegExp(`^${p.pid}$`));
    await tool.stop();
    expect(tool.stdout()).toMatch(/^(\d+\n)+$/);
    expect(tool.lines()).toContain(String(p.pid));
    expect(tool.stderr()).toMatch(/^Tracing/m);
  });

  it('--include-existing emits Python that was running before the start', async () => {
    const before = spawn(PY, ['-c', 'import time; time.sleep(120)'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    const tool = await startTool('python-exec-hook', ['--include-existing']);
    await tool.waitForLine(new RegExp(`^${before.pid}$`));
    await tool.stop();
    before.kill();
    expect(tool.lines().filter((l) => l === String(before.pid))).toHaveLength(1);
  });

  it('--include-existing applies -u, -n and -c to the processes already running, as the kernel does to new ones', async () => {
    const asNobody = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', PY, '-c', 'import time; time.sleep(120)'], { stdio: 'ignore' });
    const named = script('existing-named.py', '#!/usr/bin/python3\nimport time\ntime.sleep(120)\n');
    const byName = spawn(named, [], { stdio: 'ignore' });
    const asRoot = spawn(PY, ['-c', 'import time; time.sleep(120)'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 400));
    try {
      const u = await startTool('python-exec-hook', ['--include-existing', '-u', '65534']);
      const n = await startTool('python-exec-hook', ['--include-existing', '-n', 'existing-named']);
      await u.waitForLine(new RegExp(`^${asNobody.pid}$`));
      await n.waitForLine(new RegExp(`^${byName.pid}$`));
      await u.stop();
      await n.stop();
      expect(u.lines()).toContain(String(asNobody.pid));
      expect(u.lines()).not.toContain(String(asRoot.pid));
      expect(u.lines()).not.toContain(String(byName.pid));
      expect(n.lines()).toEqual([String(byName.pid)]);

      const mount = cgroup2Mount()!;
      const cg = `${mount}/bpf-recipes-pyexec-${process.pid}`;
      mkdirSync(cg);
      try {
        writeFileSync(`${cg}/cgroup.procs`, String(asRoot.pid));
        const c = await startTool('python-exec-hook', ['--include-existing', '-c', cg]);
        await c.waitForLine(new RegExp(`^${asRoot.pid}$`));
        await c.stop();
        expect(c.lines()).toEqual([String(asRoot.pid)]);
      } finally {
        asRoot.kill('SIGKILL');
        await new Promise((r) => asRoot.on('close', r));
        rmdirSync(cg);
      }
    } finally {
      for (const p of [asNobody, byName, asRoot]) p.kill('SIGKILL');
    }
  });

  it('--exec runs a command per PID, without a shell, at most --parallel at once', async () => {
    const tool = await startTool('python-exec-hook', ['--exec', `touch ${dir}/ran-{}`, '--parallel', '2']);
    const ps = [];
    for (let i = 0; i < 3; i++) ps.push(await run(PY, ['-c', 'pass']));
    const deadline = Date.now() + 10000;
    while (!ps.every((p) => existsSync(`${dir}/ran-${p.pid}`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await tool.stop();
    for (const p of ps) expect(existsSync(`${dir}/ran-${p.pid}`), `ran-${p.pid}`).toBe(true);
    expect(tool.stdout()).toBe('');
    expect(tool.stderr()).toMatch(/ran [3-9]\d* commands?/);
  });

  it('end to end: python-exec-hook | xargs -P32 austin profiles a new Python program, and only Python', async () => {
    const py39 = pythonForAustin();
    expect(py39, 'a Python of 3.9 or older for austin 1.0.1 (pyenv install 3.9)').toBeTruthy();
    const prog = script('busy.py', [
      'import time',
      'def recipes_unique_busy_function():',
      '    end = time.time() + 3',
      '    n = 0',
      '    while time.time() < end:',
      '        n += 1',
      '    return n',
      'recipes_unique_busy_function()',
      '',
    ].join('\n'));
    const pipeline = spawn('sh', ['-c', `"${toolBin('python-exec-hook')}" | xargs -n1 -P32 -I{} austin -C -p {} --output=${dir}/austin-{}.txt`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    pipeline.stderr.on('data', (d) => (err += d));
    const deadline = Date.now() + 20000;
    while (!/Tracing/.test(err) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(err).toMatch(/Tracing/);
    const other = spawn('sleep', ['2'], { stdio: 'ignore' });
    const otherDone = new Promise((r) => other.on('close', r));
    const py = await run(py39!, [prog]);
    expect(py.code).toBe(0);
    await otherDone;
    const hook = execFileSync('pgrep', ['-f', '-n', `${toolBin('python-exec-hook')}`], { encoding: 'utf8' }).trim();
    process.kill(Number(hook), 'SIGTERM');
    const code = await new Promise((r) => pipeline.on('close', r));
    expect(code).toBe(0);
    const profile = `${dir}/austin-${py.pid}.txt`;
    expect(existsSync(profile), `${profile}\n${err}`).toBe(true);
    const samples = readFileSync(profile, 'utf8').split('\n').filter((l) => l.includes('recipes_unique_busy_function'));
    expect(samples.length).toBeGreaterThan(10);
    expect(existsSync(`${dir}/austin-${other.pid}.txt`)).toBe(false);
  });

  cliConformance({
    tool: 'python-exec-hook',
    programs: 2,
    drive: () => run(PY, ['-c', 'pass']),
    badInput: [['--match', '('], ['--parallel', '0'], ['--exec', "x 'y"], ['--pid', '1']],
  });
});
