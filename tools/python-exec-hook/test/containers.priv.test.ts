// Privileged: python-exec-hook inside its own PID namespace (unshare -pf --mount-proc): the PID
// and PPID of a Python that starts there are the namespace's, and /proc lookups find it.
import { describe, expect, it } from 'vitest';
import { inNamespaces, jsonLines, skipPrivileged } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('python-exec-hook inside a PID namespace', () => {
  it('PID and PPID as the namespace sees them, bare and --json', async () => {
    const r = await inNamespaces('python-exec-hook', `
      start_tool --json
      sh -c 'sh -c "echo \\$\\$ \\$PPID; exec /usr/bin/python3 -c pass"'
      stop_tool
      start_tool
      sh -c 'echo $$; exec /usr/bin/python3 -c pass'
      stop_tool
    `);
    try {
      const [pid, ppid, bare] = r.script.trim().split(/\s+/).map(Number);
      expect(Math.max(pid, ppid, bare)).toBeLessThanOrEqual(r.lastPid); // namespace PIDs
      expect(ppid).toBeGreaterThan(1); // the intermediate shell, not the namespace's init
      expect(r.code).toBe(0);
      const events = jsonLines(r.out);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ pid, ppid, exe: expect.stringMatching(/\/python3/) });
      // the bare form: the PID alone, on its own line
      expect(r.out.split('\n').filter((l) => /^\d+$/.test(l)).map(Number)).toEqual([bare]);
    } finally {
      r.cleanup();
    }
  });
});
