// Privileged: biosnoop inside its own PID namespace (unshare -pf --mount-proc): direct I/O from a
// task of the namespace is shown under the PID the namespace gives it, and -p takes that PID.
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { inNamespaces, jsonLines, skipPrivileged } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('biosnoop inside a PID namespace', () => {
  const dir = mkdtempSync('/var/tmp/bpf-recipes-bio-ns-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the submitter PID as the namespace sees it; -p with a namespace PID; a one-line note on what is left out', async () => {
    const r = await inNamespaces('biosnoop', `
      held d1 if=/dev/zero of="$B/f1" bs=4096 count=4 oflag=direct
      held d2 if=/dev/zero of="$B/f2" bs=4096 count=3 oflag=direct
      start_tool --json -p "$(cat "$D/d1")"
      touch "$D/go-d1" "$D/go-d2"; wait_held
      stop_tool
      cat "$D/d1" "$D/d2"
    `, { env: { B: dir, W: "dd" } });
    try {
      const [d1, d2] = r.script.trim().split(/\s+/).map(Number);
      expect(Math.max(d1, d2)).toBeLessThanOrEqual(r.lastPid); // namespace PIDs
      expect(r.code).toBe(0);
      const writes = jsonLines(r.out).filter((e) => String(e.rwbs).startsWith('W') && e.len === 4096);
      expect(writes).toHaveLength(4);
      for (const e of writes) expect(e).toMatchObject({ pid: d1, comm: 'dd' });
      expect(r.err.split('\n').filter((l) => /PID namespace/.test(l))).toHaveLength(1);
    } finally {
      r.cleanup();
    }
  });
});
