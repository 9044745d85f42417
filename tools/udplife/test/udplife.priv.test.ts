// Privileged: the real udplife on the real kernel; UDP traffic on loopback between a fixture and
// an echo server run by this test.
import dgram from 'node:dgram';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliConformance, fixture, run, skipPrivileged, startTool } from '@bpf-recipes/testing';

interface Row { pid: number; comm: string; family: string; laddr: string; lport: number; raddr: string | null; rport: number | null; peers: number; tx_bytes: number; rx_bytes: number; tx_packets: number; rx_packets: number; duration_ms: number; connected: boolean }

describe.skipIf(skipPrivileged())('udplife on the real kernel', () => {
  let uw: string;
  const servers: dgram.Socket[] = [];
  let port4 = 0;
  let port6 = 0;
  const echo = (type: 'udp4' | 'udp6', addr: string) =>
    new Promise<number>((res) => {
      const s = dgram.createSocket(type);
      s.on('message', (m, r) => s.send(m, r.port, r.address));
      s.bind(0, addr, () => res(s.address().port));
      servers.push(s);
    });
  beforeAll(async () => {
    uw = fixture('udplife-workload');
    port4 = await echo('udp4', '127.0.0.1');
    port6 = await echo('udp6', '::1');
  });
  afterAll(() => servers.forEach((s) => s.close()));
  const rows = (lines: string[]): Row[] => lines.map((l) => JSON.parse(l));

  it('a connected IPv4 socket: one row with exact TX/RX bytes, ports, and a lifetime within ours', async () => {
    const tool = await startTool('udplife', ['--json', '-n', 'udplife-work']);
    const t0 = performance.now();
    const w = await run(uw, ['connected', '4', String(port4), '1000', '4']);
    const took = performance.now() - t0;
    expect(w.code).toBe(0);
    await tool.waitForLine(new RegExp(`"pid":${w.pid}`));
    await tool.stop();
    const mine = rows(tool.lines()).filter((r) => r.pid === w.pid);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      comm: 'udplife-workloa', family: 'ipv4', laddr: '127.0.0.1', lport: Number(w.stdout.trim()), raddr: '127.0.0.1', rport: port4,
      connected: true, peers: 1, tx_bytes: 1000, rx_bytes: 1000, tx_packets: 4,
    });
    expect(mine[0].rx_packets).toBeGreaterThanOrEqual(1);
    expect(mine[0].duration_ms).toBeGreaterThan(0);
    expect(mine[0].duration_ms).toBeLessThanOrEqual(took);
  });

  it('an IPv6 socket likewise', async () => {
    const tool = await startTool('udplife', ['--json', '-6', '-n', 'udplife-work']);
    const w = await run(uw, ['connected', '6', String(port6), '300', '3']);
    await tool.waitForLine(new RegExp(`"pid":${w.pid}`));
    await tool.stop();
    expect(rows(tool.lines()).filter((r) => r.pid === w.pid)).toEqual([
      expect.objectContaining({ family: 'ipv6', laddr: '::1', lport: Number(w.stdout.trim()), raddr: '::1', rport: port6, tx_bytes: 300, rx_bytes: 300, tx_packets: 3 }),
    ]);
  });

  it('a socket left open at process exit is still reported', async () => {
    const tool = await startTool('udplife', ['--json', '-n', 'udplife-work']);
    const w = await run(uw, ['leak', '4', String(port4)]);
    await tool.waitForLine(new RegExp(`"pid":${w.pid}`));
    await tool.stop();
    expect(rows(tool.lines()).filter((r) => r.pid === w.pid)).toEqual([expect.objectContaining({ rport: port4, tx_bytes: 10, lport: Number(w.stdout.trim()) })]);
  });

  it('an unconnected socket: one row, the last peer and the peer count', async () => {
    const tool = await startTool('udplife', ['--json', '-n', 'udplife-work']);
    const w = await run(uw, ['unconnected', '4', String(port4), '9']);
    await tool.waitForLine(new RegExp(`"pid":${w.pid}`));
    await tool.stop();
    expect(rows(tool.lines()).filter((r) => r.pid === w.pid)).toEqual([
      expect.objectContaining({ connected: false, peers: 2, raddr: '127.0.0.1', rport: 9, tx_bytes: 16, tx_packets: 2, laddr: '0.0.0.0' }),
    ]);
  });

  it('a receiving unconnected socket: peers and the last peer from recvfrom/recvmsg (read after the kernel wrote them)', async () => {
    // a server socket receives from three clients, through recvfrom, recvmsg, recvfrom: the last
    // peer is the third client. Run as a #! script so that its comm is its own name.
    const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-udplife-'));
    const script = join(dir, 'udplife-srv');
    writeFileSync(script, [
      '#!/usr/bin/python3',
      'import json, socket',
      's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))',
      'cs = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]',
      'for c in cs: c.connect(s.getsockname())',
      'cs[0].send(b"a" * 11); s.recvfrom(100)',
      'cs[1].send(b"b" * 22); s.recvmsg(100)',
      'cs[2].send(b"c" * 33); s.recvfrom(100)',
      'print(json.dumps({"server": s.getsockname()[1], "clients": [c.getsockname()[1] for c in cs]}))',
      's.close()',
      'for c in cs: c.close()',
    ].join('\n') + '\n');
    chmodSync(script, 0o755);
    try {
      const tool = await startTool('udplife', ['--json', '-n', 'udplife-srv']);
      const w = await run(script, []);
      expect(w.code).toBe(0);
      const ports = JSON.parse(w.stdout) as { server: number; clients: number[] };
      await tool.waitForLine(new RegExp(`"lport":${ports.server},`));
      await tool.stop();
      expect(rows(tool.lines()).filter((r) => r.lport === ports.server)).toEqual([
        expect.objectContaining({ pid: w.pid, connected: false, peers: 3, raddr: '127.0.0.1', rport: ports.clients[2], rx_bytes: 66, rx_packets: 3, tx_bytes: 0 }),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('-D and -4 filter in the kernel; table columns', async () => {
    const tool = await startTool('udplife', ['-D', String(port4), '-n', 'udplife-work']);
    const a = await run(uw, ['connected', '4', String(port4), '20', '1']);
    const b = await run(uw, ['connected', '6', String(port6), '20', '1']);
    await tool.waitForLine(new RegExp(`^\\s*${a.pid}\\s`));
    await new Promise((r) => setTimeout(r, 200));
    await tool.stop();
    const [header, ...data] = tool.lines();
    expect(header.trim().split(/\s+/)).toEqual(['PID', 'COMM', 'LADDR', 'LPORT', 'RADDR', 'RPORT', 'PEERS', 'TX_B', 'RX_B', 'MS']);
    expect(data.map((l) => l.trim().split(/\s+/).slice(0, 9))).toEqual([[String(a.pid), 'udplife-workloa', '127.0.0.1', a.stdout.trim(), '127.0.0.1', String(port4), '1', '20', '20']]);
    expect(data.some((l) => l.includes(` ${b.pid} `))).toBe(false);
  });

  cliConformance({
    tool: 'udplife',
    programs: 10,
    drive: () => run(uw, ['connected', '4', String(port4), '10', '1']),
    badInput: [['-L', '70000'], ['-D', 'x'], ['-4', '-6'], ['--bogus']],
  });
});
