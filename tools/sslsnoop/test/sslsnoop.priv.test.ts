// Privileged: the real sslsnoop with uprobes on the real TLS libraries, an openssl s_server on
// 127.0.0.1 and real clients sending a unique message: the message must show up byte for byte in
// the client's write and the server's read.
import { type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliConformance, run, runToolSync, skipPrivileged, startTool, startTlsServer, type TlsServer } from '@bpf-recipes/testing';

interface Ev { pid: number; comm: string; func: string; direction: string; len: number; data: string; truncated: boolean; latency_us: number }

describe.skipIf(skipPrivileged())('sslsnoop on the real kernel', () => {
  let tls: TlsServer;
  let server: ChildProcess;
  let port: number;
  beforeAll(async () => {
    tls = await startTlsServer('sslsnoop');
    ({ server, port } = tls);
  });
  afterAll(() => tls?.close());
  const events = (lines: string[]): Ev[] => lines.map((l) => JSON.parse(l));
  const text = (e: Ev) => Buffer.from(e.data, 'base64').toString('latin1');
  const unique = (tag: string) => `${tag}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  /** openssl s_client sending `text` and leaving at the end of its input */
  const sClient = (text: string) => run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-no_ign_eof'], { input: text });

  async function traced(args: string[], client: () => Promise<{ pid: number }>, marker: string) {
    const tool = await startTool('sslsnoop', ['--json', ...args]);
    const c = await client();
    await tool.waitForLine(new RegExp(`"pid":${server.pid},[^\\n]*"direction":"read"`), 10000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    await tool.stop();
    const ev = events(tool.lines());
    return { ev, c, writes: ev.filter((e) => e.pid === c.pid && e.direction === 'write' && text(e).includes(marker)), reads: ev.filter((e) => e.pid === server.pid && e.direction === 'read' && text(e).includes(marker)) };
  }

  it('openssl s_client: the message in the client\'s SSL_write and the server\'s SSL_read, byte for byte', async () => {
    const msg = unique('s_client');
    const { writes, reads } = await traced([], () => sClient(`${msg}\n`), msg);
    expect(writes.map(text)).toEqual([`${msg}\n`]);
    expect(writes[0]).toMatchObject({ comm: 'openssl', func: 'SSL_write', len: msg.length + 1, truncated: false });
    expect(reads.map(text)).toEqual([`${msg}\n`]);
    expect(reads[0]).toMatchObject({ comm: 'openssl', func: 'SSL_read', len: msg.length + 1 });
  });

  it('curl -k: the request line in curl\'s write and the server\'s read', async () => {
    const path = `/${unique('curl')}`;
    const { writes, reads } = await traced([], () => run('curl', ['-sk', '--max-time', '1', `https://127.0.0.1:${port}${path}`]), path);
    expect(writes).toHaveLength(1);
    expect(text(writes[0])).toMatch(new RegExp(`^GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`));
    expect(writes[0].comm).toBe('curl');
    expect(reads).toHaveLength(1);
    expect(text(reads[0])).toBe(text(writes[0]));
  });

  it("Python's ssl module (SSL_write_ex) and the server's read", async () => {
    const msg = unique('python');
    const py = [
      'import ssl, socket',
      'c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE',
      `s = c.wrap_socket(socket.create_connection(("127.0.0.1", ${port})))`,
      `s.sendall(b"${msg}\\n"); s.close()`,
    ].join('\n');
    const { writes, reads } = await traced([], () => run('/usr/bin/python3', ['-c', py]), msg);
    expect(writes).toEqual([expect.objectContaining({ func: 'SSL_write_ex', len: msg.length + 1 })]);
    expect(text(writes[0])).toBe(`${msg}\n`);
    expect(reads.map(text)).toEqual([`${msg}\n`]);
  });

  it('--binary finds OpenSSL linked statically into node', async () => {
    const path = `/${unique('node')}`;
    const js = `require('https').request({ host: '127.0.0.1', port: ${port}, path: '${path}', rejectUnauthorized: false }).on('error', () => {}).end(); setTimeout(() => process.exit(0), 500)`;
    const { writes } = await traced(['--binary', process.execPath, '--no-gnutls', '--no-nss'], () => run(process.execPath, ['-e', js]), path);
    expect(writes).toHaveLength(1);
    expect(text(writes[0])).toMatch(new RegExp(`^GET ${path} HTTP/1.1\r\n`));
  });

  it('--max-buffer-size truncates and says so; block form with --hexdump', async () => {
    const msg = unique('long').padEnd(300, 'x');
    const tool = await startTool('sslsnoop', ['--max-buffer-size', '32', '--hexdump', '-p', String(server.pid)]);
    await sClient(`${msg}\n`);
    await tool.waitForLine(/truncated/);
    await tool.stop();
    const out = tool.stdout();
    expect(out).toMatch(new RegExp(`^===== < pid=${server.pid} comm=openssl len=301 func=SSL_read$`, 'm'));
    const hex = Buffer.from(msg.slice(0, 16)).toString('hex').match(/../g)!;
    expect(out).toContain(`00000000  ${hex.slice(0, 8).join(' ')}  ${hex.slice(8).join(' ')}  |${msg.slice(0, 16)}|`);
    expect(out).toContain('[truncated: 301 bytes, 32 shown]');
    expect(tool.stderr()).toMatch(/decrypted/);
  });

  it('--columns and --handshake', async () => {
    const tool = await startTool('sslsnoop', ['--columns', '--handshake', '-p', String(server.pid)]);
    await sClient('hi\n');
    await tool.waitForLine(/SSL_read/);
    await tool.stop();
    const [header, ...rows] = tool.lines();
    expect(header.split(/\s+/)).toEqual(['FUNC', 'TIME', 'COMM', 'PID', 'LEN']);
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(expect.arrayContaining(['SSL_read']));
    expect(rows.find((r) => r.startsWith('SSL_read'))!.split(/\s+/).slice(2)).toEqual(['openssl', String(server.pid), '3']);
  });

  it('-x adds UID and TID: columns, and uid=/tid= in blocks', async () => {
    const t = await startTool('sslsnoop', ['--columns', '-x', '-g', '--no-nss', '-p', String(server.pid)]);
    await sClient('hi\n');
    await t.waitForLine(/^SSL_read/);
    await t.stop();
    const [header, ...rows] = t.lines();
    expect(header.split(/\s+/)).toEqual(['FUNC', 'TIME', 'COMM', 'PID', 'UID', 'TID', 'LEN']);
    expect(rows.find((r) => r.startsWith('SSL_read'))!.split(/\s+/).slice(2)).toEqual(['openssl', String(server.pid), '0', String(server.pid), '3']);

    const blocks = await startTool('sslsnoop', ['-x', '-p', String(server.pid)]);
    await sClient('hi\n');
    await blocks.waitForLine(/^===== </);
    await blocks.stop();
    expect(blocks.stdout()).toMatch(new RegExp(`^===== < pid=${server.pid} comm=openssl len=3 func=SSL_read uid=0 tid=${server.pid}$`, 'm'));
  });

  cliConformance({
    tool: 'sslsnoop',
    args: ['--no-gnutls', '--no-nss'],
    programs: 6, // 3 entry programs, the return program, the thread exit/exec cleanup
    drive: () => sClient('hi\n'),
    badInput: [['--max-buffer-size', '99999'], ['--binary', '/nonexistent'], ['--bogus']],
  });

  it('nothing to probe: one line, exit 1', () => {
    const r = runToolSync('sslsnoop', ['--no-openssl', '--no-gnutls', '--no-nss']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sslsnoop: no TLS library function could be probed/);
    // bcc sslsniff's short letters: -o no OpenSSL, -g no GnuTLS
    const short = runToolSync('sslsnoop', ['-o', '-g', '--no-nss']);
    expect({ code: short.code, stderr: short.stderr }).toEqual({ code: 1, stderr: r.stderr });
  });
});
