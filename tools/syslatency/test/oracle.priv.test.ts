// Differential (privileged): syslatency --by syscall and `strace -f -c` count the same run of the
// fork- and signal-heavy workload syscount is checked with (fork, vfork, a raw clone, threads
// through clone3, handled signals so rt_sigreturn runs, an interrupted sigsuspend); the calls per
// syscall must agree exactly. -n keeps syslatency to the workload (a name no other process has).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, parseStraceCounts, run, skipPrivileged, startTool, uniquelyNamed } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('syslatency agrees with strace -f -c', () => {
  let workload: string;
  beforeAll(() => {
    workload = uniquelyNamed(fixture('oracle-workload', ['-static', '-pthread']), 'slw');
  });
  afterAll(() => {
    if (workload) rmSync(dirname(workload), { recursive: true, force: true });
  });

  it('calls per syscall of one fork/clone/thread/signal workload, each in one histogram', async () => {
    const N = 20;
    const comm = workload.split('/').pop()!;
    const tool = await startTool('syslatency', ['--by', 'syscall', '--json', '-n', comm]);
    const out = join(mkdtempSync(join(tmpdir(), 'bpf-recipes-strace-')), 'counts');
    const w = await run('strace', ['-f', '-c', '-o', out, workload, 'procs', String(N)]);
    expect(w.code, w.stderr).toBe(0);
    await tool.stop();
    const strace = parseStraceCounts(readFileSync(out, 'utf8'));
    expect(strace.get('clone')).toEqual({ count: 3 * N, errors: 0 });
    expect(strace.get('rt_sigreturn')).toEqual({ count: 2 * N, errors: N });
    const lines = tool.lines().map((l) => JSON.parse(l) as { syscall: string; count: number; buckets: { count: number }[] });
    for (const l of lines) expect(l.buckets.reduce((a, b) => a + b.count, 0), l.syscall).toBe(l.count);
    // the execve was entered while the task was still "strace" (-n applies at entry): not counted
    const theirs = Object.fromEntries([...strace].filter(([k]) => k !== 'execve').map(([k, r]) => [k, r.count]));
    expect(Object.fromEntries(lines.map((l) => [l.syscall, l.count]))).toEqual(theirs);
  });
});
