// Privileged: a process whose comm is not UTF-8 (prctl PR_SET_NAME) in syscount's per-process
// table (escaped) and --json (escaped text plus comm_b64 with the exact bytes).
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { run, skipPrivileged, startTool } from '@bpf-recipes/testing';

// names itself s ff \ x, then makes 20000 getppid calls so it is among the top processes
const WORKLOAD = String.raw`
import ctypes, os
ctypes.CDLL(None).prctl(15, b's\xff\\x', 0, 0, 0)
for _ in range(20000): os.getppid()
`;

describe.skipIf(skipPrivileged())('syscount: comms that are not UTF-8', () => {
  it('-P table shows s\\xff\\\\x; --json has comm "s\\xff\\\\x" and comm_b64 with the bytes', async () => {
    const table = await startTool('syscount', ['-P', '--top', '100000']);
    const json = await startTool('syscount', ['-P', '--top', '100000', '--json']);
    const py = await run('python3', ['-c', WORKLOAD]);
    expect(py.code, py.stderr).toBe(0);
    expect((await table.stop()).code).toBe(0);
    expect((await json.stop()).code).toBe(0);

    const row = table.lines().find((l) => l.trim().split(/[\s│|]+/).includes(String(py.pid)));
    expect(row, table.stdout()).toBeDefined();
    expect(row!.split(/[\s│|]+/).filter(Boolean).slice(0, 2)).toEqual([String(py.pid), 's\\xff\\\\x']);
    expect(table.stdout()).not.toContain('\ufffd');

    const procs = json.lines().map((l) => JSON.parse(l)).flatMap((o) => o.processes).filter((p) => p.pid === py.pid);
    expect(procs).toHaveLength(1);
    expect(procs[0].comm).toBe('s\\xff\\\\x');
    expect(Buffer.from(procs[0].comm_b64, 'base64')).toEqual(Buffer.from([0x73, 0xff, 0x5c, 0x78]));
    expect(procs[0].count).toBeGreaterThanOrEqual(20000);
  });

  // A shell that exec()s the renamed program, as a pyenv shim does: the shell's calls land in
  // one CPU's slot, the program's in another's; the name shown is the one read last.
  it.skipIf(availableParallelism() < 2)('a shell on CPU 1 that exec()s the renamed program on CPU 0: the comm shown is the new name', async () => {
    const json = await startTool('syscount', ['-P', '--top', '100000', '--json']);
    const script = `for i in $(seq 3000); do echo > /dev/null; done; exec taskset -c 0 python3 -c "$1"`;
    const sh = await run('taskset', ['-c', '1', 'bash', '-c', script, 'sh', WORKLOAD]);
    expect(sh.code, sh.stderr).toBe(0);
    // another process on each CPU, so both CPUs' slots are spilled into the per-process hash
    for (const cpu of ['0', '1']) expect((await run('taskset', ['-c', cpu, 'true'])).code).toBe(0);
    expect((await json.stop()).code).toBe(0);
    const procs = json.lines().map((l) => JSON.parse(l)).flatMap((o) => o.processes).filter((p) => p.pid === sh.pid);
    expect(procs).toHaveLength(1);
    expect(procs[0].comm).toBe('s\\xff\\\\x');
    expect(procs[0].count).toBeGreaterThanOrEqual(20000 + 3000 * 3);
  });
});
