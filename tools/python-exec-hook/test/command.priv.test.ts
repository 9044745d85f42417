// Privileged: `python-exec-hook -- COMMAND`: the Python processes the command starts (and the
// command itself when it is Python), none started by an unrelated process at the same time.
import { describe, expect, it } from 'vitest';
import { run, skipPrivileged, toolBin } from '@bpf-recipes/testing';

interface Exec { pid: number; ppid: number; comm: string; argv: string[] }

const hook = async (command: string[]) => {
  const r = await run(toolBin('python-exec-hook'), ['--json', '--', ...command]);
  return { ...r, execs: r.stdout.split('\n').filter((l) => l.startsWith('{"')).map((l) => JSON.parse(l) as Exec) };
};

describe.skipIf(skipPrivileged())('python-exec-hook -- COMMAND', () => {
  it("the command's Pythons (a child, and the command's own exec of Python), not another process's", async () => {
    const tag = `h19${process.pid}`;
    const busy = run('sh', ['-c', `for i in $(seq 15); do /usr/bin/python3 -c 'import sys' other${tag}; done`]);
    const r = await hook(['sh', '-c', `/usr/bin/python3 -c pass child${tag}; exec /usr/bin/python3 -c pass own${tag}`]);
    await busy;
    expect(r.code, r.stderr).toBe(0);
    expect(r.execs.map((e) => e.argv.at(-1))).toEqual([`child${tag}`, `own${tag}`]);
    // the child's parent is the command, which then became Python itself
    expect(r.execs[0].ppid).toBe(r.execs[1].pid);
  });

  it('a command that is Python from its first instruction', async () => {
    const r = await hook(['/usr/bin/python3', '-c', 'import sys; sys.exit(3)']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.execs).toHaveLength(1);
    expect(r.execs[0].argv).toEqual(['/usr/bin/python3', '-c', 'import sys; sys.exit(3)']);
  });
});
