// Privileged: python-exec-hook against processes that come and go as on a real machine: a PID
// reused after a process it reported, --exec commands whose process is gone before their turn,
// and a --match with alternatives (no kernel prefilter may drop one of them).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, skipPrivileged, startTool } from '@bpf-recipes/testing';

const PY = '/usr/bin/python3';
const sleeper = (sec: number, py = PY) => spawn(py, ['-c', `import time; time.sleep(${sec})`], { stdio: 'ignore' });
const closed = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.on('close', () => r())));

/** A Python process with exactly this PID (the kernel hands out ns_last_pid + 1 next; others may race us). */
async function pythonAt(pid: number): Promise<ChildProcess> {
  for (let i = 0; i < 100; i++) {
    writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    const c = sleeper(1);
    if (c.pid === pid) return c;
    c.kill('SIGKILL');
    await closed(c);
  }
  throw new Error(`could not get PID ${pid} again in 100 tries`);
}

describe.skipIf(skipPrivileged())('python-exec-hook as processes come and go', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-pyreuse-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const json = (lines: string[]) => lines.map((l) => JSON.parse(l) as { pid: number; exe: string; existing?: boolean });

  it('a PID reported by --include-existing (whose exit no event tells) is reported again when a new Python gets it', async () => {
    const old = sleeper(30);
    const pid = old.pid!;
    const tool = await startTool('python-exec-hook', ['--json', '--include-existing']);
    try {
      await tool.waitForLine(new RegExp(`"pid":${pid},`));
      old.kill('SIGKILL');
      await closed(old);
      const again = await pythonAt(pid);
      await tool.waitForLine(new RegExp(`"pid":${pid},(?![^\\n]*"existing")`), 5000).catch(() => undefined);
      await closed(again);
    } finally {
      old.kill('SIGKILL');
      await tool.stop();
    }
    const mine = json(tool.lines()).filter((e) => e.pid === pid);
    expect(mine.map((e) => Boolean(e.existing))).toEqual([true, false]);
  }, 30000);

  it('--exec: a queued command whose process has exited is not run, and stderr says so', async () => {
    // an interpreter of a name only this test runs: other Python on the machine stays out of it
    const name = `pyq${process.pid}`.slice(0, 15);
    const py = join(dir, name);
    copyFileSync(realpathSync(PY), py);
    chmodSync(py, 0o755);
    // each command waits for the gate: the first holds the queue until both later processes are gone
    const gate = join(dir, 'gate');
    const cmd = `sh -c 'while [ ! -e ${gate} ]; do sleep 0.05; done; echo ran {}'`;
    const tool = await startTool('python-exec-hook', ['-v', '--match', `^${name}$`, '--parallel', '1', '--exec', cmd]);
    const a = sleeper(30, py);
    const until = async (what: string) => {
      for (let i = 0; i < 100 && !tool.stderr().includes(what); i++) await new Promise((r) => setTimeout(r, 100));
    };
    try {
      await until(`python-exec-hook: PID ${a.pid}\n`); // a's command is running: the next ones queue
      const b = await run(py, ['-c', 'pass']);
      const c = await run(py, ['-c', 'pass']);
      await until(`python-exec-hook: PID ${c.pid}\n`);
      writeFileSync(gate, '');
      await tool.waitForLine(new RegExp(`^ran ${a.pid}$`), 5000);
      await until(`PID ${c.pid} exited`);
      await new Promise((r) => setTimeout(r, 300));
      await tool.stop();
      expect(tool.lines()).toEqual([`ran ${a.pid}`]);
      for (const p of [b.pid, c.pid]) expect(tool.stderr()).toContain(`python-exec-hook: --exec: PID ${p} exited before its command could start: skipped`);
      expect(tool.stderr()).toMatch(/ran 1 command, 2 skipped \(the process had exited\)/);
    } finally {
      a.kill('SIGKILL');
      await tool.stop();
    }
  }, 30000);

  it("--match '^python|uwsgi' reports both (no kernel prefilter from the first alternative)", async () => {
    const uwsgi = join(dir, 'uwsgi');
    copyFileSync(realpathSync(PY), uwsgi);
    chmodSync(uwsgi, 0o755);
    const tool = await startTool('python-exec-hook', ['--json', '-v', '--match', '^python|uwsgi']);
    const u = await run(uwsgi, ['-c', 'pass']);
    const p = await run(PY, ['-c', 'pass']);
    expect([u.code, p.code]).toEqual([0, 0]);
    await tool.waitForLine(new RegExp(`"pid":${p.pid},`));
    await new Promise((r) => setTimeout(r, 200));
    await tool.stop();
    expect(tool.stderr()).toContain('no kernel prefilter');
    const ev = json(tool.lines());
    expect(ev.filter((e) => e.pid === u.pid).map((e) => e.exe)).toEqual([uwsgi]);
    expect(ev.filter((e) => e.pid === p.pid)).toHaveLength(1);
  }, 30000);
});
