// Differential (privileged): `syscount -- COMMAND` and `strace -f -c COMMAND` count the same
// command syscall by syscall, calls and errors: dd's 10k one-byte reads and writes, and the
// fork/clone/thread/signal workload (children and threads followed). The command is seen from its
// execve (counted once, as strace counts it) to its exit; nothing of the process that held it
// before its exec is counted. The typed API start({ command }) counts the same. (strace -f on 10k
// syscalls takes most of a minute in the VM lane's emulated guest: the tests have 3 minutes.)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start } from '@bpf-recipes/syscount';
import { fixture, parseStraceCounts, run, skipPrivileged, toolBin } from '@bpf-recipes/testing';

interface Row { name: string; count: number; errors: number }

const strace = async (command: string[]) => {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-strace-'));
  try {
    const r = await run('strace', ['-f', '-c', '-o', join(dir, 'counts'), ...command]);
    expect(r.code, r.stderr).toBe(0);
    return Object.fromEntries(parseStraceCounts(readFileSync(join(dir, 'counts'), 'utf8')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const syscount = async (command: string[]) => {
  const r = await run(toolBin('syscount'), ['--json', '--top', '1000', '--', ...command]);
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{"time"'));
  expect(lines).toHaveLength(1);
  const rows = JSON.parse(lines[0]).syscalls as Row[];
  return { counts: Object.fromEntries(rows.map((x) => [x.name, { count: x.count, errors: x.errors }])), processes: JSON.parse(lines[0]).processes as { pid: number; comm: string }[], stdout: r.stdout };
};

describe.skipIf(skipPrivileged())('syscount -- COMMAND agrees with strace -f -c COMMAND', () => {
  let workload: string;
  beforeAll(() => {
    workload = fixture('oracle-workload', ['-static', '-pthread']);
  });
  afterAll(() => {
    if (workload) rmSync(dirname(workload), { recursive: true, force: true });
  });

  const dd = ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=5000'];

  it('dd bs=1 count=5000: every syscall, calls and errors, execve once', async () => {
    const ours = await syscount(dd);
    const theirs = await strace(dd);
    expect(theirs.read.count).toBe(5003);
    expect(ours.counts).toEqual(theirs);
    expect(ours.counts.execve).toEqual({ count: 1, errors: 0 });
    expect(ours.processes.map((p) => p.comm)).toEqual(['dd']);
  }, 180_000);

  it('a workload that forks, vforks, clones, starts threads and handles signals: its children followed', async () => {
    const cmd = [workload, 'procs', '20'];
    const ours = await syscount(cmd);
    const theirs = await strace(cmd);
    expect(theirs.clone).toEqual({ count: 60, errors: 0 });
    expect(ours.counts).toEqual(theirs);
    // the children are processes of their own
    expect(ours.processes.length).toBeGreaterThan(20);
  }, 180_000);

  it('the typed API: start({ command }) counts the same, read once the command has ended', async () => {
    const agg = start({ command: dd, top: 1000 });
    const exit = await agg.command!.exited;
    expect(exit.status).toBe(0);
    const snap = agg.snapshot();
    await agg.close();
    const counts = Object.fromEntries((snap.syscalls ?? []).map((s) => [s.name, { count: s.count, errors: s.errors }]));
    expect(counts).toEqual(await strace(dd));
  }, 180_000);
});
