// Privileged: sslsnoop inside its own PID namespace (unshare -pf --mount-proc), with an openssl
// s_server and s_client started there: both ends are shown under the PIDs the namespace gives them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inNamespaces, jsonLines, skipPrivileged } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('sslsnoop inside a PID namespace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-tls-ns-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('client and server PIDs as the namespace sees them', async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/k.pem`, '-out', `${dir}/c.pem`, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    const port = 40000 + (process.pid % 20000);
    const msg = `ns-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    const r = await inNamespaces('sslsnoop', `
      sleep 60 | openssl s_server -accept "127.0.0.1:$PORT" -cert "$C/c.pem" -key "$C/k.pem" -quiet >/dev/null 2>&1 &
      SERVER=$!
      hex=$(printf '%04X' "$PORT"); i=0
      until grep -q "0100007F:$hex 00000000:0000 0A" /proc/net/tcp; do i=$((i + 1)); [ "$i" -gt 200 ] && exit 94; sleep 0.05; done
      start_tool --json -n openssl
      printf '%s\\n' "$MSG" | sh -c 'echo $$ >"$D/c"; exec openssl s_client -connect "127.0.0.1:$PORT" -quiet -no_ign_eof' >/dev/null 2>&1
      sleep 0.3
      stop_tool
      echo "$SERVER $(cat "$D/c")"
      kill "$SERVER"
    `, { env: { PORT: String(port), C: dir, MSG: msg } });
    try {
      const [server, client] = r.script.trim().split(/\s+/).map(Number);
      expect(Math.max(server, client)).toBeLessThanOrEqual(r.lastPid); // namespace PIDs
      expect(r.code).toBe(0);
      const withMsg = jsonLines(r.out).filter((e) => Buffer.from(String(e.data), 'base64').toString('latin1') === `${msg}\n`);
      expect(withMsg.filter((e) => e.direction === 'write').map((e) => [e.pid, e.tid])).toEqual([[client, client]]);
      expect(withMsg.filter((e) => e.direction === 'read').map((e) => [e.pid, e.tid])).toEqual([[server, server]]);
    } finally {
      r.cleanup();
    }
  });
});
