// Privileged: comms that are not UTF-8 (prctl PR_SET_NAME) through the real killsnoop, as sender
// (COMM) and as target (TCOMM): escaped in the table and the sentence, exact bytes in --json.
import { describe, expect, it } from 'vitest';
import { run, skipPrivileged, startTool } from '@bpf-recipes/testing';

// the child names itself t fe ff \ x and waits; the parent names itself k ff \ x f e (the byte ff, then the four characters \xfe), sends it SIGTERM,
// and prints the child's pid
const WORKLOAD = String.raw`
import ctypes, os, time
libc = ctypes.CDLL(None)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    libc.prctl(15, b't\xfe\xff\\x', 0, 0, 0)
    os.write(w, b'.')
    time.sleep(30)
    os._exit(0)
os.read(r, 1)
libc.prctl(15, b'k\xff\\xfe', 0, 0, 0)
os.kill(pid, 15)
os.waitpid(pid, 0)
print(pid)
`;

describe.skipIf(skipPrivileged())('killsnoop: comms that are not UTF-8', () => {
  it('COMM and TCOMM escaped in the table and --sentence, comm_b64 and tcomm_b64 exact in --json', async () => {
    const json = await startTool('killsnoop', ['--json']);
    const table = await startTool('killsnoop', []);
    const sentence = await startTool('killsnoop', ['--sentence']);
    const py = await run('python3', ['-c', WORKLOAD]);
    expect(py.code, py.stderr).toBe(0);
    const child = Number(py.stdout.trim());
    for (const t of [json, table, sentence]) await t.waitForLine(new RegExp(`\\b${child}\\b`));
    for (const t of [json, table, sentence]) expect((await t.stop('SIGINT')).code).toBe(0);

    const ev = json.lines().map((l) => JSON.parse(l)).filter((e) => e.pid === py.pid && e.tpid === child); // pids are reused fast here (pid_max 32768)
    expect(ev).toEqual([expect.objectContaining({ sig: 15, tpid: child, comm: 'k\\xff\\\\xfe', tcomm: 't\\xfe\\xff\\\\x', result: 0 })]);
    expect(Buffer.from(ev[0].comm_b64, 'base64')).toEqual(Buffer.from([0x6b, 0xff, 0x5c, 0x78, 0x66, 0x65]));
    expect(Buffer.from(ev[0].tcomm_b64, 'base64')).toEqual(Buffer.from([0x74, 0xfe, 0xff, 0x5c, 0x78]));

    const row = table.lines().find((l) => l.trim().split(/\s+/)[1] === String(py.pid) && l.includes(` ${child} `));
    expect(row?.trim().split(/\s+/).slice(1)).toEqual([String(py.pid), 'k\\xff\\\\xfe', 'SIGTERM', String(child), 't\\xfe\\xff\\\\x', '0']);
    expect(sentence.lines()).toContain(`k\\xff\\\\xfe (${py.pid}) sent signal 15 (SIGTERM) to PID ${child} (t\\xfe\\xff\\\\x)`);
    for (const t of [json, table, sentence]) expect(t.stdout()).not.toContain('\ufffd');
  });
});
