// Privileged: a process whose comm is not UTF-8 (prctl PR_SET_NAME) in syscount's per-process
// table (escaped) and --json (escaped text plus comm_b64 with the exact bytes).
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
});
