// Privileged: udplife inside its own PID namespace (unshare -pf --mount-proc): a socket's owner
// is printed with the PID the namespace gives it, and -p takes such a PID.
import { describe, expect, it } from 'vitest';
import { fixture, inNamespaces, jsonLines, skipPrivileged } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('udplife inside a PID namespace', () => {
  it('the owner PID as the namespace sees it; -p with a namespace PID', async () => {
    const r = await inNamespaces('udplife', `
      held u1 unconnected 4 50917 50918; held u2 unconnected 4 50917 50918
      start_tool --json -p "$(cat "$D/u1")"
      touch "$D/go-u1" "$D/go-u2"; wait_held
      stop_tool
      cat "$D/u1" "$D/u2"
    `, { env: { W: fixture('udplife-workload') } });
    try {
      const [u1, u2] = r.script.trim().split(/\s+/).map(Number);
      expect(Math.max(u1, u2)).toBeLessThanOrEqual(r.lastPid); // namespace PIDs
      expect(r.code).toBe(0);
      const events = jsonLines(r.out);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ pid: u1, comm: 'udplife-workloa', tx_bytes: 16 });
    } finally {
      r.cleanup();
    }
  });
});
