// Privileged: gethostlatency as a library (trace()), against the real kernel and libc: the records
// the command prints for the same lookups, break detaching, two traces at once, typed errors.
// No lookup leaves the machine: names come from /etc/hosts; the failing one uses AI_NUMERICHOST.
import { describe, expect, it } from 'vitest';
import { PreflightError, UsageError, trace, type GethostlatencyRecord } from '@bpf-recipes/gethostlatency';
import { fixture, heldPrograms, run, skipPrivileged, startTool } from '@bpf-recipes/testing';

/** Records of these processes until `n` arrived (or the deadline passed: then close() ends the loop). */
async function collect(t: AsyncIterable<GethostlatencyRecord> & { close(): Promise<void> }, pids: number[], n: number, ms = 10000): Promise<GethostlatencyRecord[]> {
  const got: GethostlatencyRecord[] = [];
  const deadline = setTimeout(() => void t.close(), ms);
  for await (const r of t) {
    if (pids.includes(r.pid)) got.push(r);
    if (got.length >= n) break;
  }
  clearTimeout(deadline);
  return got;
}

describe.skipIf(skipPrivileged())('gethostlatency as a library', () => {
  it('5 getaddrinfo("localhost") and a failing one: 6 records, field for field what gethostlatency --json -e prints', async () => {
    const gw = fixture('gethostlatency-workload');
    const cli = await startTool('gethostlatency', ['--json', '-e', '-n', 'gethostlatency']);
    const t = trace({ extended: true, name: 'gethostlatency' });
    const ok = await run(gw, ['getaddrinfo', 'localhost', '5']);
    const bad = await run(gw, ['numeric-fail', 'no-such-host.invalid']);
    expect([ok.stdout, bad.stdout]).toEqual(['0\n'.repeat(5), '-2\n']);
    const records = await collect(t, [ok.pid, bad.pid], 6);
    expect(records).toHaveLength(6);
    await cli.waitForLine(/no-such-host/);
    expect((await cli.stop()).code).toBe(0);
    const lines = cli.lines().map((l) => JSON.parse(l) as GethostlatencyRecord).filter((r) => r.pid === ok.pid || r.pid === bad.pid);
    // each object times the call itself: time and latency_us are the two fields that may differ
    const sansTimes = ({ time, latency_us, ...r }: GethostlatencyRecord) => (void time, void latency_us, r);
    expect(records.map(sansTimes)).toEqual(lines.map(sansTimes));
    expect(records.map((r) => [r.pid, r.func, r.host, r.ret_name])).toEqual([
      ...Array(5).fill([ok.pid, 'getaddrinfo', 'localhost', '0']), [bad.pid, 'getaddrinfo', 'no-such-host.invalid', 'EAI_NONAME'],
    ]);
    for (const r of records) {
      expect(Object.keys(r)).toEqual(['time', 'pid', 'tid', 'uid', 'comm', 'func', 'latency_us', 'host', 'ret', 'ret_name', 'addrs']);
      expect(r.latency_us).toBeGreaterThan(0);
      expect(r.latency_us).toBeLessThan(5e6);
      expect(Number.isInteger(Math.round(r.latency_us * 100 * 1e6) / 1e6)).toBe(true); // 0.01 µs steps
      expect(Math.abs(Date.parse(r.time) - Date.now())).toBeLessThan(60000);
    }
    expect(records[0].addrs).toContain('127.0.0.1');
    expect(records[5].addrs).toEqual([]);
  });

  it('break out of the loop detaches: no BPF program is left held by this process', async () => {
    const before = heldPrograms(process.pid).length;
    const t = trace({ name: 'gethostlatency' });
    expect(heldPrograms(process.pid).length).toBeGreaterThan(before);
    const w = await run(fixture('gethostlatency-workload'), ['getaddrinfo', 'localhost', '3']);
    expect(await collect(t, [w.pid], 1)).toHaveLength(1);
    expect(heldPrograms(process.pid).length).toBe(before);
    expect((await t.next()).done).toBe(true);
  });

  it('two traces at once, each with its own filter: --min-latency 10000 (10 s) sees none, the other all', async () => {
    const slowOnly = trace({ minLatency: '10000', name: 'gethostlatency' });
    const all = trace({ name: 'gethostlatency' });
    const w = await run(fixture('gethostlatency-workload'), ['getaddrinfo', 'localhost', '4']);
    expect(w.code).toBe(0);
    const seen = async (t: ReturnType<typeof trace>) => {
      const out: GethostlatencyRecord[] = [];
      setTimeout(() => void t.close(), 1000);
      for await (const r of t) if (r.pid === w.pid) out.push(r);
      return out;
    };
    const [a, b] = await Promise.all([seen(slowOnly), seen(all)]);
    expect(a).toEqual([]);
    expect(b.map((r) => [r.func, r.host, r.ret])).toEqual(Array(4).fill(['getaddrinfo', 'localhost', 0]));
    expect(all.lost).toBe(0);
  });

  it('bad options throw UsageError (or PreflightError) at once, with nothing attached', () => {
    const before = heldPrograms(process.pid).length;
    expect(() => trace({ minLatency: '-1' })).toThrow(UsageError);
    expect(() => trace({ libc: '/no/such/libc.so.6' })).toThrow(/^--libc: \/no\/such\/libc.so.6 does not exist$/);
    expect(() => trace({ pid: [0] })).toThrow(UsageError);
    expect(() => trace({ pid: [4194300] })).toThrow(PreflightError);
    expect(heldPrograms(process.pid).length).toBe(before);
  });
});
