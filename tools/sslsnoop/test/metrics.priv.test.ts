// Privileged: sslsnoop --metrics on the real kernel and OpenSSL: an openssl s_server on 127.0.0.1,
// s_client sending a known message, both run from a copy of openssl under a name of this file's own
// (ssl-metrics: no other test's openssl has it, and the tests run side by side; -n keeps only
// their calls; the copy links the system's libssl as openssl does). The byte counters are kept
// in the kernel (tls_bytes, per CPU) and read at the scrape; the events still print as usual, and
// the counters must equal the bytes of the calls printed, exactly.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session } from '@bpf-recipes/cli';
import { MetricsRegistry } from '@bpf-recipes/metrics';
import { PROMTOOL, freePort, heldPrograms, run, sample, skipPrivileged, startTool, startTlsServer, type TlsServer } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('sslsnoop --metrics', () => {
  let tls: TlsServer;
  let server: ChildProcess;
  let port: number;
  const NAME = 'ssl-metrics';
  let dir: string;
  let openssl: string;
  beforeAll(async () => {
    dir = mkdtempSync('/tmp/bpf-recipes-ssl-metrics-');
    openssl = join(dir, NAME);
    copyFileSync(spawnSync('sh', ['-c', 'command -v openssl'], { encoding: 'utf8' }).stdout.trim(), openssl);
    tls = await startTlsServer('metrics', openssl);
    ({ server, port } = tls);
  });
  afterAll(() => {
    tls?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tls_bytes_total{library,direction}: the bytes of the calls it printed, exact; promtool has nothing to say', async () => {
    const msg = `metrics-${process.pid}-${'x'.repeat(1000)}\n`;
    const mport = await freePort();
    const tool = await startTool('sslsnoop', ['--json', '-n', NAME, '--metrics', `127.0.0.1:${mport}`]);
    let text: string;
    try {
      const c = await run(openssl, ['s_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-no_ign_eof'], { input: msg });
      expect(c.code).toBe(0);
      await tool.waitForLine(new RegExp(`"pid":${server.pid},[^\\n]*"direction":"read"`), 10000);
      await new Promise((r) => setTimeout(r, 300));
      text = await (await fetch(`http://127.0.0.1:${mport}/metrics`)).text();
    } finally {
      expect((await tool.stop('SIGINT')).code).toBe(0);
    }
    const events = tool.lines().map((l) => JSON.parse(l) as { pid: number; func: string; direction: string; len: number; data: string });
    const carrying = (d: string) => events.filter((e) => e.direction === d && Buffer.from(e.data, 'base64').toString() === msg);
    expect(carrying('write')).toHaveLength(1);
    expect(carrying('read')).toHaveLength(1);
    for (const direction of ['read', 'write']) {
      const bytes = events.filter((e) => e.direction === direction).reduce((s, e) => s + e.len, 0);
      expect(bytes).toBeGreaterThanOrEqual(msg.length);
      expect(sample(text, `bpf_recipes_tls_bytes_total{library="openssl",direction="${direction}"}`)).toBe(bytes);
    }
    // the other libraries' series are there, at 0 (none of their calls was made by -n ssl-metrics)
    for (const library of ['gnutls', 'nss']) for (const direction of ['read', 'write']) {
      expect(sample(text, `bpf_recipes_tls_bytes_total{library="${library}",direction="${direction}"}`)).toBe(0);
    }
    expect(text).not.toMatch(/^bpf_recipes_tls_\w+\{[^}]*(pid|comm|host|address)=/m);
    expect(sample(text, 'bpf_recipes_build_info{tool="sslsnoop",version="0.1.0"}')).toBe(1);
    expect(sample(text, 'bpf_recipes_events_lost_total{tool="sslsnoop"}')).toBe(0);
    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });

  it("the exporter's open(): the same probes counting only (no plaintext in the ring buffer), read by register()", async () => {
    // the built module, as the exporter loads it (its object path is relative to dist/)
    const { metrics: { open, register } } = await import('../dist/src/tool.js');
    const session = new Session({ tool: 'sslsnoop', filters: { comm: NAME } });
    const before = heldPrograms(process.pid).length;
    const msg = `exporter-${process.pid}-${'y'.repeat(500)}\n`;
    try {
      const skel = open(session, { 'no-gnutls': true, 'no-nss': true });
      let events = 0;
      session.follow(skel.maps.events, () => void events++);
      const reg = new MetricsRegistry();
      register(reg.addTool({ tool: 'sslsnoop', version: '0.1.0', lost: () => session.lost() }), skel);
      expect((await run(openssl, ['s_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-no_ign_eof'], { input: msg })).code).toBe(0);
      await new Promise((r) => setTimeout(r, 500));
      const text = await reg.registry.metrics();
      // the client's write carries the message; the server's read of it may come in pieces
      expect(sample(text, 'bpf_recipes_tls_bytes_total{library="openssl",direction="write"}')).toBeGreaterThanOrEqual(msg.length);
      expect(sample(text, 'bpf_recipes_tls_bytes_total{library="openssl",direction="read"}')).toBeGreaterThanOrEqual(msg.length);
      expect(events).toBe(0);
    } finally {
      await session.detach();
      session.close();
    }
    expect(heldPrograms(process.pid).length).toBe(before);
  });
});
