// Privileged: syslatency inside its own PID namespace (unshare -pf --mount-proc): --by pid keys are
// the PIDs the namespace gives, and -p takes those PIDs.
import { describe, expect, it } from 'vitest';
import { fixture, inNamespaces, jsonLines, skipPrivileged } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('syslatency inside a PID namespace', () => {
  it('histograms per namespace PID; -p with namespace PIDs', async () => {
    const r = await inNamespaces('syslatency', `
      held w1 nanosleep 8 1; held w2 nanosleep 3 1; held w3 nanosleep 5 1
      start_tool nanosleep --by pid --json -p "$(cat "$D/w1"),$(cat "$D/w2")"
      touch "$D/go-w1" "$D/go-w2" "$D/go-w3"; wait_held
      stop_tool
      cat "$D/w1" "$D/w2" "$D/w3"
    `, { env: { W: fixture('syslatency-workload', ['-static', '-pthread']) } });
    try {
      const [w1, w2, w3] = r.script.trim().split(/\s+/).map(Number);
      expect(Math.max(w1, w2, w3)).toBeLessThanOrEqual(r.lastPid); // namespace PIDs
      expect(r.code).toBe(0);
      const lines = jsonLines(r.out) as { pid: number; comm: string; count: number }[];
      expect(Object.fromEntries(lines.map((l) => [l.pid, [l.comm, l.count]]))).toEqual({ [w1]: ['syslatency-work', 8], [w2]: ['syslatency-work', 3] });
    } finally {
      r.cleanup();
    }
  });
});
