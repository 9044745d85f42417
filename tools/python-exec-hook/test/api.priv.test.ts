// Privileged: python-exec-hook as a library (trace()), against the real kernel, with Python started
// by the test: the records the command prints, --include-existing, break detaching, two traces at
// once, typed errors.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { UsageError, trace, type PythonExecRecord } from '@bpf-recipes/python-exec-hook';
import { heldPrograms, run, skipPrivileged, startTool } from '@bpf-recipes/testing';

const PY = '/usr/bin/python3';
const unique = (tag: string) => `${tag}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
/** Python sleeping `s` seconds, its argv marked with `mark` */
const python = (mark: string, s = 0.5) => run(PY, ['-c', `import time; time.sleep(${s})`, mark]);

/** The records whose argv carries `mark`, until `n` arrived (or the deadline passed: close() ends the loop). */
async function marked(t: AsyncIterable<PythonExecRecord> & { close(): Promise<void> }, mark: string, n: number, ms = 10000): Promise<PythonExecRecord[]> {
  const got: PythonExecRecord[] = [];
  const deadline = setTimeout(() => void t.close(), ms);
  for await (const r of t) {
    if (r.argv?.includes(mark)) got.push(r);
    if (got.length >= n) break;
  }
  clearTimeout(deadline);
  return got;
}

describe.skipIf(skipPrivileged())('python-exec-hook as a library', () => {
  it('3 Pythons: 3 records, field for field what python-exec-hook --json prints', async () => {
    const mark = unique('api');
    const cli = await startTool('python-exec-hook', ['--json']);
    const t = trace();
    const runs = await Promise.all([python(mark), python(mark), python(mark)]);
    const records = await marked(t, mark, 3);
    await t.close();
    await cli.waitForLine(new RegExp(mark), 10000);
    await new Promise((r) => setTimeout(r, 300));
    expect((await cli.stop()).code).toBe(0);
    const lines = cli.lines().map((l) => JSON.parse(l) as PythonExecRecord).filter((r) => r.argv?.includes(mark));
    const byPid = (a: PythonExecRecord, b: PythonExecRecord) => a.pid - b.pid;
    expect(records.map((r) => r.pid).sort()).toEqual(runs.map((r) => r.pid).sort());
    // the exec's time is the kernel's stamp, turned to wall time by each one's clock (measured at its
    // own start: they may differ by a ms); everything else is the same, in the same order
    const sansTime = ({ time, ...r }: PythonExecRecord) => (void time, r);
    expect([...records].sort(byPid).map(sansTime)).toEqual([...lines].sort(byPid).map(sansTime));
    const ms = (rs: PythonExecRecord[]) => [...rs].sort(byPid).map((r) => Date.parse(r.time));
    ms(records).forEach((t, i) => expect(Math.abs(t - ms(lines)[i])).toBeLessThanOrEqual(2));
    for (const r of records) {
      expect(Object.keys(r)).toEqual(['time', 'pid', 'ppid', 'uid', 'comm', 'exe', 'filename', 'argv']);
      expect(r).toMatchObject({ ppid: process.pid, uid: process.getuid!(), filename: PY, argv: [PY, '-c', 'import time; time.sleep(0.5)', mark] });
      expect(r.exe).toMatch(/\/python3(\.\d+)?$/);
    }
  });

  it('includeExisting: a Python already running comes first, marked existing', async () => {
    const mark = unique('api-existing');
    const p = spawn(PY, ['-c', 'import time; time.sleep(5)', mark], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const t = trace({ includeExisting: true, uid: process.getuid!() });
      const [r] = await marked(t, mark, 1);
      await t.close();
      expect(r).toMatchObject({ pid: p.pid, ppid: process.pid, filename: null, existing: true, argv: [PY, '-c', 'import time; time.sleep(5)', mark] });
    } finally {
      p.kill();
    }
  });

  it('break out of the loop detaches: no BPF program is left held by this process', async () => {
    const before = heldPrograms(process.pid).length;
    const t = trace();
    expect(heldPrograms(process.pid).length).toBeGreaterThan(before);
    const mark = unique('api-break');
    await python(mark, 0.2);
    expect(await marked(t, mark, 1)).toHaveLength(1);
    expect(heldPrograms(process.pid).length).toBe(before);
    expect((await t.next()).done).toBe(true);
  });

  it('two traces at once, each with its own --match: only the one that matches python3 sees it', async () => {
    const pythons = trace({ match: '^python3' });
    const other = trace({ match: '^uwsgi$' });
    const mark = unique('api-two');
    await python(mark, 0.3);
    const seen = async (t: ReturnType<typeof trace>) => {
      const out: PythonExecRecord[] = [];
      setTimeout(() => void t.close(), 1000);
      for await (const r of t) if (r.argv?.includes(mark)) out.push(r);
      return out;
    };
    const [a, b] = await Promise.all([seen(pythons), seen(other)]);
    expect(a).toHaveLength(1);
    expect(b).toEqual([]);
  });

  it('bad options throw UsageError at once, with nothing attached', () => {
    const before = heldPrograms(process.pid).length;
    expect(() => trace({ match: '(' })).toThrow(UsageError);
    expect(() => trace({ bufferSize: 3000 })).toThrow(/power of two/);
    expect(() => trace({ uid: -1 })).toThrow(UsageError);
    expect(heldPrograms(process.pid).length).toBe(before);
  });
});
