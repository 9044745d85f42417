// Differential (privileged): udplife's per-socket bytes against what the workload itself sent and
// received (the sum of its send/sendto and recv/recvfrom returns), on one run of two UDP sockets,
// one connected and one not, to an echo server this test runs on loopback. udplife keeps to the
// workload's pid (held on stdin until udplife is attached).
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, skipPrivileged, startTool, watch } from '@bpf-recipes/testing';

interface Row { pid: number; lport: number; rport: number | null; connected: boolean; tx_bytes: number; rx_bytes: number; tx_packets: number; rx_packets: number }

describe.skipIf(skipPrivileged())("udplife agrees with the workload's own byte counts", () => {
  let workload: string;
  let server: dgram.Socket;
  let port = 0;
  beforeAll(async () => {
    workload = fixture('oracle-workload');
    server = dgram.createSocket('udp4');
    server.on('message', (m, r) => server.send(m, r.port, r.address));
    port = await new Promise<number>((res) => server.bind(0, '127.0.0.1', () => res(server.address().port)));
  });
  afterAll(() => server.close());

  it('bytes each way per socket, connected and unconnected, equal what the calls returned', async () => {
    const w = watch(workload, ['udp', String(port)], { env: { ORACLE_WAIT: '1' }, stdin: 'pipe' });
    const tool = await startTool('udplife', ['--json', '-p', String(w.proc.pid!)]);
    w.proc.stdin!.end('go\n');
    expect(await w.exited, w.stderr()).toBe(0);
    await tool.waitForLine(/"connected":false/);
    await tool.stop();
    const told = w.stdout().trim().split('\n').map((l) => l.split(' ').map(Number));
    expect(told).toHaveLength(2);
    // 1 + 100 + 1400 + 7 + 65000 + 512 bytes each way, 6 datagrams, on each socket
    for (const [, sent, received] of told) expect([sent, received]).toEqual([67020, 67020]);
    const rows: Row[] = tool.lines().map((l) => JSON.parse(l));
    expect(rows.every((r) => r.pid === w.proc.pid)).toBe(true);
    expect(rows.map((r) => ({ lport: r.lport, tx: r.tx_bytes, rx: r.rx_bytes, connected: r.connected }))).toEqual([
      { lport: told[0][0], tx: told[0][1], rx: told[0][2], connected: true },
      { lport: told[1][0], tx: told[1][1], rx: told[1][2], connected: false },
    ]);
    for (const r of rows) expect([r.tx_packets, r.rx_packets]).toEqual([6, 6]);
  });
});
