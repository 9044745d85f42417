// Privileged: gethostlatency inside its own PID namespace (unshare -pf --mount-proc): PIDs and
// TIDs as the namespace sees them, and -p takes such a PID.
import { describe, expect, it } from 'vitest';
import { fixture, inNamespaces, jsonLines, skipPrivileged } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('gethostlatency inside a PID namespace', () => {
  it('-p with a namespace PID: exactly its lookups, under that PID', async () => {
    const r = await inNamespaces('gethostlatency', `
      held g1 getaddrinfo localhost 3; held g2 getaddrinfo localhost 2
      start_tool --json -p "$(cat "$D/g1")"
      touch "$D/go-g1" "$D/go-g2"; wait_held
      stop_tool
      cat "$D/g1" "$D/g2"
    `, { env: { W: fixture('gethostlatency-workload') } });
    try {
      const [g1, g2] = r.script.trim().split(/\s+/).map(Number);
      expect(Math.max(g1, g2)).toBeLessThanOrEqual(r.lastPid); // namespace PIDs
      expect(r.code).toBe(0);
      const events = jsonLines(r.out);
      expect(events).toHaveLength(3);
      for (const e of events) expect(e).toMatchObject({ pid: g1, tid: g1, host: 'localhost', func: 'getaddrinfo' });
    } finally {
      r.cleanup();
    }
  });
});
