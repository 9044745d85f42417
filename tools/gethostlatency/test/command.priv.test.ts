// Privileged: `gethostlatency -- getent hosts NAME`: libc's lookup functions are probed before the
// command runs (the libraries it will map), so its lookup is shown; a lookup by an unrelated
// process at the same time is not; the tool exits with getent's status.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { run, skipPrivileged, toolBin } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('gethostlatency -- COMMAND', () => {
  it("shows the command's lookups, from its first, and no other process's; exits with its status", async () => {
    const mine = `h19-${process.pid}-${Date.now()}.invalid`;
    const other = `other-${process.pid}-${Date.now()}.invalid`;
    // an unrelated process looking a name up all along (until the tool has ended)
    const busy = spawn('sh', ['-c', `while :; do getent hosts ${other}; sleep 0.05; done`], { stdio: 'ignore' });
    const r = await run(toolBin('gethostlatency'), ['--json', '--', 'getent', 'hosts', mine]).finally(() => busy.kill());
    // getent: 2 when the name is not found
    expect(r.code, r.stderr).toBe(2);
    const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { pid: number; comm: string; host: string; func: string });
    expect(events.length, r.stdout).toBeGreaterThan(0);
    expect(new Set(events.map((e) => e.host))).toEqual(new Set([mine]));
    expect(new Set(events.map((e) => e.comm))).toEqual(new Set(['getent']));
    expect(new Set(events.map((e) => e.pid)).size).toBe(1);
    // the same name found: exit 0
    const found = await run(toolBin('gethostlatency'), ['--json', '--', 'getent', 'hosts', 'localhost']);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout).toMatch(/"host":"localhost"/);
  }, 180_000); // three tools' runs: most of a minute in the VM lane's emulated guest
});
