// Privileged: sslsnoop as a library (trace()), against the real kernel and OpenSSL: an openssl
// s_server on 127.0.0.1 and s_client sending a unique message; the records equal the command's
// --json lines, break detaches, two traces at once, typed errors.
import { type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PreflightError, UsageError, trace, type SslsnoopRecord } from '@bpf-recipes/sslsnoop';
import { heldPrograms, run, skipPrivileged, startTool, startTlsServer, type TlsServer } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('sslsnoop as a library', () => {
  let tls: TlsServer;
  let server: ChildProcess;
  let port: number;
  beforeAll(async () => {
    tls = await startTlsServer('api');
    ({ server, port } = tls);
  });
  afterAll(() => tls?.close());
  const text = (r: SslsnoopRecord) => Buffer.from(r.data, 'base64').toString('latin1');
  const unique = (tag: string) => `${tag}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const sClient = (msg: string) => run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-no_ign_eof'], { input: msg });
  /** the records carrying `msg`, until `n` arrived (or the deadline passed: close() ends the loop) */
  async function carrying(t: AsyncIterable<SslsnoopRecord> & { close(): Promise<void> }, msg: string, n: number, ms = 10000): Promise<SslsnoopRecord[]> {
    const got: SslsnoopRecord[] = [];
    const deadline = setTimeout(() => void t.close(), ms);
    for await (const r of t) {
      if (text(r).includes(msg)) got.push(r);
      if (got.length >= n) break;
    }
    clearTimeout(deadline);
    return got;
  }

  it("s_client's message: its SSL_write and the server's SSL_read, field for field what sslsnoop --json prints", async () => {
    const msg = unique('api');
    const cli = await startTool('sslsnoop', ['--json', '-n', 'openssl']);
    const t = trace({ name: 'openssl' });
    const c = await sClient(`${msg}\n`);
    const records = await carrying(t, msg, 2);
    await cli.waitForLine(new RegExp(`"pid":${server.pid},[^\\n]*"direction":"read"`), 10000);
    expect((await cli.stop()).code).toBe(0);
    const lines = cli.lines().map((l) => JSON.parse(l) as SslsnoopRecord).filter((r) => text(r).includes(msg));
    // records go out as the calls return: the server's read may return before the client's write
    const byDirection = (rs: SslsnoopRecord[]) => [...rs].sort((a, b) => b.direction.localeCompare(a.direction));
    expect(byDirection(records).map((r) => [r.pid, r.func, r.direction, text(r)])).toEqual([
      [c.pid, 'SSL_write', 'write', `${msg}\n`],
      [server.pid, 'SSL_read', 'read', `${msg}\n`],
    ]);
    // each object times the call itself: time and latency_us are the two fields that may differ
    const sansTimes = ({ time, latency_us, ...r }: SslsnoopRecord) => (void time, void latency_us, r);
    expect(byDirection(records).map(sansTimes)).toEqual(byDirection(lines).map(sansTimes));
    for (const r of records) {
      expect(Object.keys(r)).toEqual(['time', 'pid', 'tid', 'uid', 'comm', 'func', 'direction', 'len', 'data', 'truncated', 'latency_us']);
      expect(r).toMatchObject({ comm: 'openssl', len: msg.length + 1, truncated: false });
      expect(r.latency_us).toBeGreaterThan(0);
      expect(r.latency_us).toBeLessThan(10e6);
    }
  });

  it('break out of the loop detaches: no BPF program is left held by this process', async () => {
    const before = heldPrograms(process.pid).length;
    const t = trace({ name: 'openssl' });
    expect(heldPrograms(process.pid).length).toBeGreaterThan(before);
    const msg = unique('api-break');
    await sClient(`${msg}\n`);
    expect(await carrying(t, msg, 1)).toHaveLength(1);
    expect(heldPrograms(process.pid).length).toBe(before);
    expect((await t.next()).done).toBe(true);
  });

  it('two traces at once, each with its own options: --max-buffer-size 4 truncates in one, not in the other', async () => {
    const short = trace({ name: 'openssl', maxBufferSize: 4 });
    const full = trace({ name: 'openssl' });
    const msg = unique('api-two');
    const c = await sClient(`${msg}\n`);
    const writes = async (t: ReturnType<typeof trace>) => {
      const out: SslsnoopRecord[] = [];
      setTimeout(() => void t.close(), 1500);
      for await (const r of t) if (r.pid === c.pid && r.direction === 'write') out.push(r);
      return out;
    };
    const [a, b] = await Promise.all([writes(short), writes(full)]);
    expect(a.map((r) => [r.len, r.truncated, text(r)])).toEqual([[msg.length + 1, true, msg.slice(0, 4)]]);
    expect(b.map((r) => [r.len, r.truncated, text(r)])).toEqual([[msg.length + 1, false, `${msg}\n`]]);
  });

  it('bad options throw UsageError (or PreflightError) at once, with nothing attached', () => {
    const before = heldPrograms(process.pid).length;
    expect(() => trace({ maxBufferSize: 16385 })).toThrow(/^--max-buffer-size: '16385' is not a number of bytes from 0 to 16384$/);
    expect(() => trace({ binary: ['/no/such/binary'] })).toThrow(UsageError);
    expect(() => trace({ noOpenssl: true, noGnutls: true, noNss: true })).toThrow(PreflightError);
    expect(() => trace({ pid: [0] })).toThrow(UsageError);
    expect(heldPrograms(process.pid).length).toBe(before);
  });
});
