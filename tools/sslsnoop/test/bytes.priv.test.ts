// Privileged: sslsnoop's text (block) form with data and a comm that are not UTF-8: a Python TLS
// client (comm set by prctl) sends bytes ff fe, a literal backslash, é, CRLF and a lone CR to an
// openssl s_server; the block must show every byte unambiguously, and --json give them exactly.
import { type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, skipPrivileged, startTool, startTlsServer, type TlsServer } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('sslsnoop: data and comm that are not UTF-8', () => {
  let tls: TlsServer;
  let server: ChildProcess;
  let port: number;
  beforeAll(async () => {
    tls = await startTlsServer('bytes');
    ({ server, port } = tls);
  });
  afterAll(() => tls?.close());

  it('block form: \\xNN for stray bytes, \\\\ for a backslash, \\r for a lone CR; CRLF and é as they are', async () => {
    const tag = `bytes-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const py = String.raw`
import ctypes, socket, ssl, sys
ctypes.CDLL(None).prctl(15, b'c\xff\\x', 0, 0, 0)
c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
s = c.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
s.sendall(sys.argv[2].encode() + b' \xff\xfe \\xff caf\xc3\xa9\r\nline2\rX\n'); s.close()
`;
    const sent = Buffer.concat([Buffer.from(tag), Buffer.from(' '), Buffer.from([0xff, 0xfe]), Buffer.from(' \\xff caf\u00e9\r\nline2\rX\n', 'utf8')]);
    const text = await startTool('sslsnoop', []);
    const json = await startTool('sslsnoop', ['--json']);
    const c = await run('python3', ['-c', py, String(port), tag]);
    expect(c.code, c.stderr).toBe(0);
    await text.waitForLine(/^line2\\rX$/);
    await json.waitForLine(new RegExp(`"pid":${c.pid},`));
    await text.stop();
    await json.stop();

    // the client's write block (the server's read of the same bytes may come before or after it)
    const lines = text.stdout().split('\n');
    const at = lines.indexOf(`===== > pid=${c.pid} comm=c\\xff\\\\x len=${sent.length} func=SSL_write_ex`);
    expect(at, text.stdout()).toBeGreaterThanOrEqual(0);
    expect(lines[at + 1]).toBe(`${tag} \\xff\\xfe \\\\xff caf\u00e9\r`);
    expect(lines[at + 2]).toBe('line2\\rX');
    expect(text.stdout()).not.toContain('\ufffd');

    const ev = json.lines().map((l) => JSON.parse(l)).filter((e) => e.pid === c.pid && e.direction === 'write');
    expect(ev).toHaveLength(1);
    expect(Buffer.from(ev[0].data, 'base64')).toEqual(sent);
    expect(ev[0].comm).toBe('c\\xff\\\\x');
    expect(Buffer.from(ev[0].comm_b64, 'base64')).toEqual(Buffer.from([0x63, 0xff, 0x5c, 0x78]));
  });
});
