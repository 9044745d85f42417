// Privileged: `stackcount CATEGORY:EVENT -- COMMAND`, a tool that attaches its program by hand: the
// command's processes are followed all the same (the set's programs are attached with the object),
// the tool ends with the command and exits with its status; an unrelated process is not counted.
import { describe, expect, it } from 'vitest';
import { run, skipPrivileged, toolBin } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('stackcount -- COMMAND', () => {
  it("counts the command's child's one clock_nanosleep, no other process's, and exits with the command's status", async () => {
    const busy = run('sh', ['-c', 'for i in $(seq 20); do sleep 0.05; done']);
    const r = await run(toolBin('stackcount'), ['syscalls:sys_enter_clock_nanosleep', '--', 'sh', '-c', 'sleep 0.3; exit 4']);
    await busy;
    expect(r.code, r.stderr).toBe(4);
    // one stack, of comm sleep, counted once
    expect(r.stdout.match(/^ {4}\S.*\n {4}\d+$/gm)).toEqual(['    sleep\n    1']);
  });
});
