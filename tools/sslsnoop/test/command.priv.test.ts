// Privileged: `sslsnoop -- curl https://...` against a local TLS server: the TLS libraries curl will
// map are probed before it runs, so its request is shown; the server, an unrelated process, is not.
// A program with OpenSSL linked in statically (node) is probed without --binary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, skipPrivileged, startTlsServer, toolBin, type TlsServer } from '@bpf-recipes/testing';

interface Rec { pid: number; comm: string; func: string; direction: string; data: string }

const sslsnoop = async (args: string[], command: string[]) => {
  const r = await run(toolBin('sslsnoop'), ['--json', ...args, '--', ...command]);
  return { ...r, recs: r.stdout.split('\n').filter((l) => l.startsWith('{"')).map((l) => JSON.parse(l) as Rec) };
};
const text = (r: Rec) => Buffer.from(r.data, 'base64').toString('latin1');

describe.skipIf(skipPrivileged())('sslsnoop -- COMMAND', () => {
  let tls: TlsServer;
  beforeAll(async () => {
    tls = await startTlsServer('command');
  });
  afterAll(() => tls?.close());

  it("curl's request, and not the server's read of it; the tool exits with curl's status", async () => {
    const path = `/h19-${process.pid}-${Date.now()}`;
    // the server never answers: curl gives up after 1 s (exit 28)
    const r = await sslsnoop([], ['curl', '-sk', '--max-time', '1', `https://127.0.0.1:${tls.port}${path}`]);
    expect(r.code, r.stderr).toBe(28);
    expect(r.recs.map((x) => x.comm)).toEqual(['curl']);
    expect(r.recs[0].direction).toBe('write');
    expect(text(r.recs[0])).toMatch(new RegExp(`^GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${tls.port}\r\n`));
  });

  it('node, which has OpenSSL linked in statically: probed as the command, no --binary needed', async () => {
    const path = `/h19-node-${process.pid}-${Date.now()}`;
    // it exits (status 4) once its request is written: the server never answers
    const js = `require('https').request({ host: '127.0.0.1', port: ${tls.port}, path: '${path}', rejectUnauthorized: false }).on('error', () => {}).on('finish', () => setTimeout(() => process.exit(4), 200)).end(); setTimeout(() => process.exit(5), 30000)`;
    const r = await sslsnoop(['--no-gnutls', '--no-nss'], [process.execPath, '-e', js]);
    expect(r.code, r.stderr).toBe(4);
    const writes = r.recs.filter((x) => x.direction === 'write');
    expect(writes).toHaveLength(1);
    expect(text(writes[0])).toMatch(new RegExp(`^GET ${path} HTTP/1.1\r\n`));
  });
});
