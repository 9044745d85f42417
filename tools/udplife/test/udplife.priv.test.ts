// Privileged: the real udplife on the real kernel; UDP traffic on loopback between a fixture and
// an echo server run by this test.
import dgram from 'node:dgram';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawTracepointExists } from '@bpf-recipes/core';
import { cliConformance, fixture, run, skipPrivileged, startTool as startToolWith } from '@bpf-recipes/testing';

interface Row { pid: number; comm: string; family: string; laddr: string; lport: number; raddr: string | null; rport: number | null; peers: number | null; peers_more: boolean | null; tx_bytes: number | null; rx_bytes: number | null; tx_packets: number | null; rx_packets: number | null; duration_us: number; connected: boolean }

/** A #! Python script (its comm is its own name) in a fresh directory; removed by the caller. */
function script(name: string, lines: string[]): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-udplife-'));
  const path = join(dir, name);
  writeFileSync(path, ['#!/usr/bin/python3', ...lines].join('\n') + '\n');
  chmodSync(path, 0o755);
  return { path, dir };
}

const skip = skipPrivileged();
// Linux 6.3+ has sock:sock_send_length/sock_recv_length; every kernel has the cgroup skb hooks.
// Each source udplife can use on this kernel runs the same exact-event tests (on 6.1: skb only).
const lengthTracepoints = !skip && rawTracepointExists('sock_send_length') && rawTracepointExists('sock_recv_length');
const sources = lengthTracepoints ? ['tracepoints', 'skb'] : ['skb'];
const SOURCE_LINE = { tracepoints: /bytes from the sock:sock_send_length\/sock_recv_length tracepoints/, skb: /bytes and peers from the cgroup skb hooks/ };

describe.skipIf(skip).each(sources)('udplife on the real kernel, bytes from the %s source', (source) => {
  const env = { BPF_RECIPES_UDPLIFE_SOURCE: source };
  const startTool = (tool: string, args: string[]) => startToolWith(tool, ['-v', ...args], { env });
  let uw: string;
  const servers: dgram.Socket[] = [];
  let port4 = 0;
  let port6 = 0;
  let sink4 = 0;
  const echo = (type: 'udp4' | 'udp6', addr: string, reply = true) =>
    new Promise<number>((res) => {
      const s = dgram.createSocket(type);
      if (reply) s.on('message', (m, r) => s.send(m, r.port, r.address));
      s.bind(0, addr, () => res(s.address().port));
      servers.push(s);
    });
  beforeAll(async () => {
    uw = fixture('udplife-workload');
    port4 = await echo('udp4', '127.0.0.1');
    port6 = await echo('udp6', '::1');
    sink4 = await echo('udp4', '127.0.0.1', false);
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
    expect(tool.stderr()).toMatch(SOURCE_LINE[source as keyof typeof SOURCE_LINE]);
    const mine = rows(tool.lines()).filter((r) => r.pid === w.pid);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      comm: 'udplife-workloa', family: 'ipv4', laddr: '127.0.0.1', lport: Number(w.stdout.trim()), raddr: '127.0.0.1', rport: port4,
      connected: true, peers: 1, tx_bytes: 1000, rx_bytes: 1000, tx_packets: 4,
    });
    expect(mine[0].rx_packets).toBeGreaterThanOrEqual(1);
    expect(mine[0].duration_us).toBeGreaterThan(0);
    expect(mine[0].duration_us).toBeLessThanOrEqual(took * 1000);
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
    // to a server that never answers: an answer the workload never reads would count as received
    // with the skb hooks (delivered) and not with the length tracepoints (read), and race its close
    const tool = await startTool('udplife', ['--json', '-n', 'udplife-work']);
    const w = await run(uw, ['unconnected', '4', String(sink4), '9']);
    await tool.waitForLine(new RegExp(`"pid":${w.pid}`));
    await tool.stop();
    expect(rows(tool.lines()).filter((r) => r.pid === w.pid)).toEqual([
      expect.objectContaining({ connected: false, peers: 2, raddr: '127.0.0.1', rport: 9, tx_bytes: 16, tx_packets: 2, rx_bytes: 0, laddr: '0.0.0.0' }),
    ]);
  });

  it('a receiving unconnected socket: peers and the last peer from recvfrom/recvmsg (read after the kernel wrote them)', async () => {
    // a server socket receives from three clients, through recvfrom, recvmsg, recvfrom: the last
    // peer is the third client. Run as a #! script so that its comm is its own name.
    const { path: srv, dir } = script('udplife-srv', [
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
    ]);
    try {
      const tool = await startTool('udplife', ['--json', '-n', 'udplife-srv']);
      const w = await run(srv, []);
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

  it('PEERS: exactly 8 distinct peers is 8, a ninth makes it 8+', async () => {
    // one unconnected socket sends 5 bytes to each of N ports (nothing listens: ICMP errors are fine)
    const { path: fan, dir } = script('udplife-fan', [
      'import socket, sys',
      's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
      'for p in range(int(sys.argv[1])): s.sendto(b"12345", ("127.0.0.1", 40000 + p))',
      'print(s.getsockname()[1])',
      's.close()',
    ]);
    try {
      const json = await startTool('udplife', ['--json', '-n', 'udplife-fan']);
      const table = await startTool('udplife', ['-n', 'udplife-fan']);
      const eight = await run(fan, ['8']);
      const nine = await run(fan, ['9']);
      for (const w of [eight, nine]) expect(w.code).toBe(0);
      for (const t of [json, table]) await t.waitForLine(new RegExp(`\\b${nine.stdout.trim()}\\b`));
      await Promise.all([json.stop(), table.stop()]);
      const byPort = (w: { stdout: string }) => rows(json.lines()).filter((r) => r.lport === Number(w.stdout.trim()));
      expect(byPort(eight)).toEqual([expect.objectContaining({ peers: 8, peers_more: false, tx_bytes: 40, tx_packets: 8, rport: 40007 })]);
      expect(byPort(nine)).toEqual([expect.objectContaining({ peers: 8, peers_more: true, tx_bytes: 45, tx_packets: 9, rport: 40008 })]);
      const peersCol = (w: { stdout: string }) => table.lines().map((l) => l.trim().split(/\s+/)).filter((c) => c[3] === w.stdout.trim()).map((c) => c[6]);
      expect(peersCol(eight)).toEqual(['8']);
      expect(peersCol(nine)).toEqual(['8+']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

});

describe.skipIf(skip)('udplife: the command line, with the source this kernel gives', () => {
  let uw: string;
  let port = 0;
  const echo = dgram.createSocket('udp4');
  beforeAll(async () => {
    uw = fixture('udplife-workload');
    echo.on('message', (m, r) => echo.send(m, r.port, r.address));
    port = await new Promise<number>((res) => echo.bind(0, '127.0.0.1', () => res(echo.address().port)));
  });
  afterAll(() => echo.close());

  it('no bytes to be had (BPF_RECIPES_UDPLIFE_SOURCE=none stands for such a kernel): one line says so, and the columns show -, never 0', async () => {
    const env = { BPF_RECIPES_UDPLIFE_SOURCE: 'none' };
    const table = await startToolWith('udplife', ['-n', 'udplife-work'], { env });
    const json = await startToolWith('udplife', ['--json', '-n', 'udplife-work'], { env });
    const c = await run(uw, ['connected', '4', String(port), '100', '2']);
    const u = await run(uw, ['unconnected', '4', String(port), '9']);
    for (const t of [table, json]) await t.waitForLine(new RegExp(`\\b${u.pid}\\b`));
    await Promise.all([table.stop(), json.stop()]);
    for (const t of [table, json]) {
      expect(t.stderr().split('\n').filter((l) => /no per-socket bytes/.test(l))).toEqual([
        'udplife: this kernel gives no per-socket bytes (BPF_RECIPES_UDPLIFE_SOURCE=none): TX_B, RX_B and unconnected PEERS show -',
      ]);
    }
    const cols = (pid: number) => table.lines().map((l) => l.trim().split(/\s+/)).filter((x) => x[0] === String(pid)).map((x) => x.slice(4, 9));
    expect(cols(c.pid)).toEqual([['127.0.0.1', String(port), '1', '-', '-']]);
    expect(cols(u.pid)).toEqual([['-', '-', '-', '-', '-']]);
    const rows = json.lines().map((l) => JSON.parse(l) as Row);
    expect(rows.filter((r) => r.pid === c.pid)).toEqual([expect.objectContaining({ connected: true, rport: port, peers: 1, tx_bytes: null, rx_bytes: null, tx_packets: null, rx_packets: null })]);
    expect(rows.filter((r) => r.pid === u.pid)).toEqual([expect.objectContaining({ connected: false, raddr: null, rport: null, peers: null, peers_more: null, tx_bytes: null })]);
  });

  cliConformance({
    tool: 'udplife',
    programs: lengthTracepoints ? 10 : 4,
    drive: () => run(uw, ['connected', '4', String(port), '10', '1']),
    badInput: [['-L', '70000'], ['-D', 'x'], ['-4', '-6'], ['--bogus']],
  });
});
