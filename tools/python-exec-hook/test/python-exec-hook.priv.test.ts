// Privileged: the real python-exec-hook on the real kernel, with Python started by the test.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroup2Mount } from '@bpf-recipes/cli';
import { cliConformance, run, skipPrivileged, startTool, toolBin } from '@bpf-recipes/testing';

const PY = '/usr/bin/python3';

const PROBE = [
  'import time',
  'def recipes_unique_busy_function():',
  '    end = time.time() + SECONDS',
  '    n = 0',
  '    while time.time() < end:',
  '        n += 1',
  '    return n',
  'recipes_unique_busy_function()',
  '',
].join('\n');

/**
 * An interpreter whose frames this machine's austin can read, if there is one. Debian 12's austin
 * (1.0.1) reads Python up to 3.9, not Debian's own 3.11; newer austins read newer Pythons. Every
 * python3 and python3.N on PATH, in /usr/bin and /usr/local/bin, and in pyenv's versions when pyenv
 * is installed, is tried for real: austin must sample a known function in it.
 */
function pythonForAustin(): string | undefined {
  if (spawnSync('austin', ['--version']).status !== 0) return undefined;
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/local/bin'];
  const pyenv = spawnSync('pyenv', ['root'], { encoding: 'utf8' });
  if (pyenv.status === 0) {
    const versions = join(pyenv.stdout.trim(), 'versions');
    for (const v of existsSync(versions) ? readdirSync(versions) : []) dirs.push(join(versions, v, 'bin'));
  }
  const seen = new Set<string>();
  const candidates: string[] = [];
  for (const d of dirs.filter((d) => d && !/\/shims$/.test(d))) { // shims: bash until they exec
    for (const f of existsSync(d) ? readdirSync(d).filter((f) => /^python3(\.\d+)?$/.test(f)) : []) {
      try {
        const real = realpathSync(join(d, f));
        if (!seen.has(real)) candidates.push(join(d, f));
        seen.add(real);
      } catch { /* dangling link */ }
    }
  }
  const probe = join(tmpdir(), `bpf-recipes-austin-probe-${process.pid}.py`);
  writeFileSync(probe, PROBE.replace('SECONDS', '0.5'));
  try {
    return candidates.find((py) =>
      (spawnSync('austin', ['-i', '1000', py, probe], { encoding: 'utf8', timeout: 10000 }).stdout ?? '').includes('recipes_unique_busy_function'));
  } finally {
    rmSync(probe, { force: true });
  }
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
    expect(first).toMatchObject({ comm: 'hello.py', filename: py, exe: realpathSync(PY), uid: 0, ppid: process.pid });
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

  /** The README's pipeline, `python-exec-hook | xargs -n1 -P32 -I{} CONSUMER`, run by a shell. */
  async function pipeline(consumer: string) {
    const sh = spawn('sh', ['-c', `"${toolBin('python-exec-hook')}" | xargs -n1 -P32 -I{} ${consumer}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    sh.stderr.on('data', (d) => (err += d));
    const closed = new Promise<number | null>((r) => sh.on('close', r));
    const deadline = Date.now() + 20000;
    while (!/Tracing/.test(err) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(err).toMatch(/Tracing/);
    return {
      /** SIGTERM to the hook: it detaches and closes the pipe, xargs waits for its commands and ends */
      async stop() {
        // the shell's child running the hook (from /proc: pgrep is not on every machine)
        const hook = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).find((d) => {
          try {
            const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
            return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === sh.pid &&
              readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('python-exec-hook');
          } catch {
            return false; // gone meanwhile
          }
        });
        expect(hook, 'the hook of the pipeline').toBeDefined();
        process.kill(Number(hook), 'SIGTERM');
        return { code: await closed, err };
      },
    };
  }

  it('end to end: python-exec-hook | xargs -n1 -P32 -I{} CMD {} reaches every new Python while it runs, and only Python', async () => {
    // the consumer looks at the process as a profiler attaching to it would: its executable and
    // command line, read from /proc while the program runs (works with any Python, unlike austin)
    const consumer = script('consumer.sh', `#!/bin/sh\nexe=$(readlink /proc/$1/exe) || exit 1\nargs=$(tr '\\0' ' ' < /proc/$1/cmdline) || exit 1\nprintf '%s\\n%s\\n' "$exe" "$args" > ${dir}/seen-$1.txt\n`);
    const p = await pipeline(`${consumer} {}`);
    const sleepy = 'import sys, time; time.sleep(1.5)';
    const started = [
      ...Array.from({ length: 6 }, (_, i) => ({ cmd: PY, args: ['-c', sleepy, `recipes-e2e-${i}`], exe: realpathSync(PY), marker: `recipes-e2e-${i}` })),
      { cmd: script('e2e-shebang.py', '#!/usr/bin/python3\nimport time\ntime.sleep(1.5)\n'), args: ['recipes-e2e-shebang'], exe: realpathSync(PY), marker: 'recipes-e2e-shebang' },
    ];
    const others = [run('sleep', ['1.5']), run(script('e2e-not-python.sh', '#!/bin/sh\nsleep 1.5\n'), [])];
    const pythons = await Promise.all(started.map((x) => run(x.cmd, x.args)));
    const notPython = await Promise.all(others);
    const { code, err } = await p.stop();
    expect(code, err).toBe(0);
    pythons.forEach((py, i) => {
      expect(py.code).toBe(0);
      const seen = `${dir}/seen-${py.pid}.txt`;
      expect(existsSync(seen), `${started[i].marker} (pid ${py.pid}) was not reached while it ran\n${err}`).toBe(true);
      const [exe, args] = readFileSync(seen, 'utf8').split('\n');
      expect(exe).toBe(started[i].exe);
      expect(args).toContain(started[i].marker);
    });
    for (const x of notPython) expect(existsSync(`${dir}/seen-${x.pid}.txt`), `pid ${x.pid} is not Python`).toBe(false);
  });

  it('end to end with austin, where this machine has a Python its austin reads: profiles the new program', async (ctx) => {
    const py = pythonForAustin();
    if (!py) ctx.skip(); // no such Python here (e.g. stock Debian 12: austin 1.0.1, Python 3.11): the test above covers the pipeline
    const prog = script('busy.py', PROBE.replace('SECONDS', '3'));
    const p = await pipeline(`austin -C -p {} --output=${dir}/austin-{}.txt`);
    const other = run('sleep', ['2']);
    const r = await run(py!, [prog]);
    expect(r.code).toBe(0);
    const { pid: otherPid } = await other;
    const { code, err } = await p.stop();
    expect(code, err).toBe(0);
    const profile = `${dir}/austin-${r.pid}.txt`;
    expect(existsSync(profile), `${profile}\n${err}`).toBe(true);
    const samples = readFileSync(profile, 'utf8').split('\n').filter((l) => l.includes('recipes_unique_busy_function'));
    expect(samples.length).toBeGreaterThan(10);
    expect(existsSync(`${dir}/austin-${otherPid}.txt`)).toBe(false);
  });

  cliConformance({
    tool: 'python-exec-hook',
    programs: 2,
    drive: () => run(PY, ['-c', 'pass']),
    badInput: [['--match', '('], ['--parallel', '0'], ['--exec', "x 'y"], ['--pid', '1']],
  });
});
