// Privileged: syscount inside its own PID namespace (unshare -pf --mount-proc): processes are
// counted under the PIDs the namespace gives them, and -p takes those PIDs.
import { describe, expect, it } from 'vitest';
import { fixture, inNamespaces, jsonLines, skipPrivileged } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('syscount inside a PID namespace', () => {
  it('per-process counts under namespace PIDs; -p with namespace PIDs', async () => {
    const r = await inNamespaces('syscount', `
      held w1 write 20; held w2 write 7; held w3 write 5
      start_tool --json --syscall write -p "$(cat "$D/w1"),$(cat "$D/w2")"
      touch "$D/go-w1" "$D/go-w2" "$D/go-w3"; wait_held
      stop_tool
      cat "$D/w1" "$D/w2" "$D/w3"
    `, { env: { W: fixture('workload') } });
    try {
      const [w1, w2, w3] = r.script.trim().split(/\s+/).map(Number);
      expect(Math.max(w1, w2, w3)).toBeLessThanOrEqual(r.lastPid); // namespace PIDs
      expect(r.code).toBe(0);
      const [final] = jsonLines(r.out) as { processes: { pid: number; comm: string; count: number }[] }[];
      const procs = Object.fromEntries(final.processes.map((p) => [p.pid, p]));
      expect(procs[w1]).toMatchObject({ comm: 'workload', count: 20 });
      expect(procs[w2]).toMatchObject({ comm: 'workload', count: 7 });
      expect(final.processes).toHaveLength(2); // not w3
    } finally {
      r.cleanup();
    }
  });
});
