// Privileged: a UDP socket made by a process whose comm is not UTF-8 (prctl PR_SET_NAME) through
// the real udplife: COMM escaped in the table, comm and comm_b64 in --json.
import { describe, expect, it } from 'vitest';
import { run, skipPrivileged, startTool } from '@bpf-recipes/testing';

// names itself u ff fe \ , then one connected UDP socket to 127.0.0.1:9 sends 5 bytes and closes
const WORKLOAD = String.raw`
import ctypes, socket
ctypes.CDLL(None).prctl(15, b'u\xff\xfe\\', 0, 0, 0)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(('127.0.0.1', 9))
s.send(b'hello')
s.close()
`;

describe.skipIf(skipPrivileged())('udplife: comms that are not UTF-8', () => {
  it('COMM u\\xff\\xfe\\\\ in the table; --json comm_b64 has the bytes', async () => {
    const table = await startTool('udplife', ['-4']);
    const json = await startTool('udplife', ['-4', '--json']);
    const py = await run('python3', ['-c', WORKLOAD]);
    expect(py.code, py.stderr).toBe(0);
    await json.waitForLine(new RegExp(`"pid":${py.pid},`));
    await table.waitForLine(new RegExp(`^\\s*${py.pid} `));
    expect((await table.stop()).code).toBe(0);
    expect((await json.stop()).code).toBe(0);

    const ev = json.lines().map((l) => JSON.parse(l)).filter((e) => e.pid === py.pid && e.rport === 9);
    expect(ev).toEqual([expect.objectContaining({ comm: 'u\\xff\\xfe\\\\', rport: 9, tx_bytes: 5 })]);
    expect(Buffer.from(ev[0].comm_b64, 'base64')).toEqual(Buffer.from([0x75, 0xff, 0xfe, 0x5c]));
    const row = table.lines().find((l) => l.trim().split(/\s+/)[0] === String(py.pid));
    expect(row!.trim().split(/\s+/).slice(0, 2)).toEqual([String(py.pid), 'u\\xff\\xfe\\\\']);
    for (const t of [json, table]) expect(t.stdout()).not.toContain('\ufffd');
  });
});
