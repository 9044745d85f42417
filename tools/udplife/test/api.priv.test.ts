// Privileged: udplife as a library (trace()), against the real kernel: the records the command
// prints, break detaching, two traces at once, typed errors with nothing attached.
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UDPLIFE_MAX_PEERS, UsageError, trace, type UdplifeRecord } from '@bpf-recipes/udplife';
import { fixture, heldPrograms, run, skipPrivileged, startTool } from '@bpf-recipes/testing';

/** Records of a trace until `n` matched `want` (or the deadline closed it). */
async function collect(t: AsyncIterable<UdplifeRecord> & { close(): Promise<void> }, want: (r: UdplifeRecord) => boolean, n: number, ms = 10000): Promise<UdplifeRecord[]> {
  const got: UdplifeRecord[] = [];
  const deadline = setTimeout(() => void t.close(), ms);
  for await (const r of t) {
    if (want(r)) got.push(r);
    if (got.length >= n) break;
  }
  clearTimeout(deadline);
  return got;
}

describe('the generated constant', () => {
  it('UDPLIFE_MAX_PEERS is bpf/udplife.h\'s', () => expect(UDPLIFE_MAX_PEERS).toBe(8));
});

describe.skipIf(skipPrivileged())('udplife as a library', () => {
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

  it('a connected IPv4 socket echoing 1000 bytes in 4 datagrams: the record udplife --json prints, field for field', async () => {
    const cli = await startTool('udplife', ['--json', '-n', 'udplife-work']);
    const t = trace({ name: 'udplife-work' });
    const t0 = performance.now();
    const w = await run(uw, ['connected', '4', String(port4), '1000', '4']);
    const took = performance.now() - t0;
    expect(w.code).toBe(0);
    const [r] = await collect(t, (x) => x.pid === w.pid, 1);
    await cli.waitForLine(new RegExp(`"pid":${w.pid}`));
    expect((await cli.stop()).code).toBe(0);
    const lines = cli.lines().map((l) => JSON.parse(l) as UdplifeRecord).filter((x) => x.pid === w.pid);
    expect(lines).toHaveLength(1);
    expect(r).toMatchObject({
      comm: 'udplife-workloa', family: 'ipv4', laddr: '127.0.0.1', lport: Number(w.stdout.trim()), raddr: '127.0.0.1', rport: port4,
      connected: true, peers: 1, peers_more: false, tx_bytes: 1000, rx_bytes: 1000, tx_packets: 4,
    });
    // µs with two decimals, within the workload's run
    expect(r.duration_us).toBeGreaterThan(0);
    expect(r.duration_us).toBeLessThanOrEqual(took * 1000);
    expect(Number(r.duration_us.toFixed(2))).toBe(r.duration_us);
    // each object stamps the socket's creation and release itself: time and lifetime may differ by µs
    const sansTimes = ({ time, duration_us, ...x }: UdplifeRecord) => (void time, void duration_us, x);
    expect(sansTimes(r)).toEqual(sansTimes(lines[0]));
    expect(Object.keys(r)).toEqual(Object.keys(lines[0]));
  });

  it('break out of the loop detaches: no BPF program is left held by this process', async () => {
    const before = heldPrograms(process.pid).length;
    const t = trace({ name: 'udplife-work' });
    expect(heldPrograms(process.pid).length).toBeGreaterThan(before);
    const w = await run(uw, ['connected', '4', String(port4), '10', '1']);
    const got = await collect(t, (x) => x.pid === w.pid, 1);
    expect(got.map((x) => [x.tx_bytes, x.rport])).toEqual([[10, port4]]);
    expect(heldPrograms(process.pid).length).toBe(before);
    expect((await t.next()).done).toBe(true);
  });

  it('two traces at once: -4 sees only the IPv4 socket, -6 only the IPv6 one', async () => {
    const v4 = trace({ ipv4: true, name: 'udplife-work' });
    const v6 = trace({ ipv6: true, remoteport: [port6], name: 'udplife-work' });
    const a = await run(uw, ['connected', '4', String(port4), '100', '2']);
    const b = await run(uw, ['connected', '6', String(port6), '300', '3']);
    const seen = async (t: ReturnType<typeof trace>) => {
      const out: UdplifeRecord[] = [];
      setTimeout(() => void t.close(), 1000);
      for await (const r of t) if (r.pid === a.pid || r.pid === b.pid) out.push(r);
      return out;
    };
    const [x, y] = await Promise.all([seen(v4), seen(v6)]);
    expect(x.map((r) => [r.pid, r.family, r.rport, r.tx_bytes, r.tx_packets])).toEqual([[a.pid, 'ipv4', port4, 100, 2]]);
    expect(y.map((r) => [r.pid, r.family, r.raddr, r.rport, r.tx_bytes, r.tx_packets])).toEqual([[b.pid, 'ipv6', '::1', port6, 300, 3]]);
  });

  it('bad options throw UsageError at once, with nothing attached', () => {
    const before = heldPrograms(process.pid).length;
    expect(() => trace({ ipv4: true, ipv6: true })).toThrow(/-4 and -6 exclude each other/);
    expect(() => trace({ localport: [0] })).toThrow(UsageError);
    expect(() => trace({ remoteport: [1, 2, 3, 4, 5, 6, 7, 8, 9] })).toThrow(/--remoteport: give 1 to 8 ports/);
    expect(() => trace({ pid: [0] })).toThrow(UsageError);
    expect(heldPrograms(process.pid).length).toBe(before);
  });
});
