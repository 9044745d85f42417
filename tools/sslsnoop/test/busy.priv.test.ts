// Privileged: sslsnoop attached, again and again, to a TLS process that is already busy (one thread
// in an SSL_write() loop, another in an SSL_read() loop): after every attach, both threads are seen.
// A call caught half-way by the attach must not leave per-thread state that silences its thread.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, heldMapKeys, skipPrivileged, startBusy, startTool, type BusyWorkload } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('sslsnoop attached to a busy TLS process', () => {
  let dir: string;
  let busy: BusyWorkload;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-busy-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/k.pem`, '-out', `${dir}/c.pem`, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    busy = await startBusy(fixture('busy-tls', ['-pthread', '-lssl', '-lcrypto']), [`${dir}/c.pem`, `${dir}/k.pem`]);
  });
  afterAll(async () => {
    await busy?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('5 attaches in a row: each time, both the writing and the reading thread report their calls', async () => {
    const [writer] = busy.roles.writer;
    const [reader] = busy.roles.reader; // the two threads print in either order
    for (let round = 1; round <= 5; round++) {
      const tool = await startTool('sslsnoop', ['--json', '-p', String(busy.pid)]);
      const seen = () => {
        const ev = tool.lines().map((l) => JSON.parse(l) as { tid: number; func: string; direction: string });
        return { w: ev.filter((e) => e.tid === writer && e.func === 'SSL_write').length, r: ev.filter((e) => e.tid === reader && e.func === 'SSL_read').length };
      };
      // each thread makes thousands of calls a second: give both a generous time to show up
      for (let i = 0; i < 30 && (seen().w < 20 || seen().r < 20); i++) await new Promise((r) => setTimeout(r, 100));
      await tool.stop();
      expect(seen().w, `round ${round}: SSL_write calls of the writer thread`).toBeGreaterThanOrEqual(20);
      expect(seen().r, `round ${round}: SSL_read calls of the reader thread`).toBeGreaterThanOrEqual(20);
    }
  }, 60000);

  it('a thread that dies inside SSL_read() leaves no per-thread record behind (its TID may be reused)', async () => {
    const tool = await startTool('sslsnoop', ['--json', '-n', 'busy-tls']);
    try {
      const idle = await startBusy(fixture('busy-tls', ['-pthread', '-lssl', '-lcrypto']), [`${dir}/c.pem`, `${dir}/k.pem`, 'idle']);
      const [reader] = idle.roles.reader;
      for (let i = 0; i < 50 && !heldMapKeys(tool.pid, 'calls').includes(reader); i++) await new Promise((r) => setTimeout(r, 100));
      expect(heldMapKeys(tool.pid, 'calls'), 'the reader is blocked inside SSL_read: its call is recorded').toContain(reader);
      process.kill(idle.pid, 'SIGKILL');
      await idle.stop();
      expect(heldMapKeys(tool.pid, 'calls')).not.toContain(reader);
    } finally {
      await tool.stop();
    }
  }, 30000);
});
