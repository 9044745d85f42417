// Privileged: direct I/O from a process whose comm is not UTF-8 (prctl PR_SET_NAME) through the
// real biosnoop: COMM escaped in the table, comm and comm_b64 in --json.
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { run, skipPrivileged, startTool } from '@bpf-recipes/testing';

// names itself b ff \ x, then writes 2 blocks of 4 KiB with O_DIRECT (page-aligned buffer from mmap)
const WORKLOAD = String.raw`
import ctypes, mmap, os, sys
ctypes.CDLL(None).prctl(15, b'b\xff\\x', 0, 0, 0)
buf = mmap.mmap(-1, 4096)
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
for _ in range(2): os.write(fd, buf)
os.close(fd)
`;

describe.skipIf(skipPrivileged())('biosnoop: comms that are not UTF-8', () => {
  const dir = mkdtempSync('/var/tmp/bpf-recipes-bio-bytes-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('COMM b\\xff\\\\x in the table; --json comm_b64 has the bytes', async () => {
    const table = await startTool('biosnoop', []);
    const json = await startTool('biosnoop', ['--json']);
    const py = await run('python3', ['-c', WORKLOAD, `${dir}/f`]);
    expect(py.code, py.stderr).toBe(0);
    await json.waitForLine(new RegExp(`"pid":${py.pid},`));
    await table.waitForLine(new RegExp(`\\s${py.pid}\\s`));
    await new Promise((r) => setTimeout(r, 300));
    expect((await table.stop()).code).toBe(0);
    expect((await json.stop()).code).toBe(0);

    const ev = json.lines().map((l) => JSON.parse(l)).filter((e) => e.pid === py.pid && e.len === 4096 && e.rwbs.startsWith('W'));
    expect(ev).toHaveLength(2);
    for (const e of ev) {
      expect(e.comm).toBe('b\\xff\\\\x');
      expect(Buffer.from(e.comm_b64, 'base64')).toEqual(Buffer.from([0x62, 0xff, 0x5c, 0x78]));
    }
    // TIME(ms) COMM PID DISK T OFFSET LEN LAT(ms): the two 4 KiB writes (the pid may be reused once it exits)
    const rows = table.lines().map((l) => l.trim().split(/\s+/)).filter((c) => c[2] === String(py.pid) && c[4]?.startsWith('W') && c[6] === '4096');
    expect(rows).toHaveLength(2);
    for (const c of rows) expect(c[1]).toBe('b\\xff\\\\x');
    for (const t of [json, table]) expect(t.stdout()).not.toContain('\ufffd');
  });
});
