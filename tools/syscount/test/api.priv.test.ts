// Privileged: syscount as a library (start()), against the real kernel: exact counts of a static
// workload, the snapshot equal to what syscount --json prints, close() detaching, two at once,
// typed errors with nothing attached.
import { spawn, type ChildProcess } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { SYSCOUNT_HIST_SLOTS, SYSCOUNT_MAX_NR, UsageError, start, type SyscountSnapshot } from '@bpf-recipes/syscount';
import { fixture, heldPrograms, skipPrivileged, startTool, uniquePath } from '@bpf-recipes/testing';

describe('the generated constants', () => {
  it('come from bpf/syscount.h', () => expect([SYSCOUNT_MAX_NR, SYSCOUNT_HIST_SLOTS]).toEqual([1024, 40]));
});

describe.skipIf(skipPrivileged())('syscount as a library', () => {
  let workload: string;
  beforeAll(() => {
    workload = fixture('workload', ['-static']);
  });
  /** a workload that waits for a line on stdin before acting */
  const held = (args: string[]): ChildProcess =>
    spawn(workload, args, { env: { ...process.env, WORKLOAD_WAIT: '1' }, stdio: ['pipe', 'ignore', 'ignore'] });
  const release = async (p: ChildProcess) => {
    p.stdin!.end('go\n');
    await new Promise((r) => p.on('close', r));
  };
  const byName = (o: SyscountSnapshot) => Object.fromEntries((o.syscalls ?? []).map((s) => [s.name, s]));

  it('25 writes and 7 failing opens: exact counts, the snapshot what syscount --json prints at the end', async () => {
    const w = held(['write', '25']);
    const f = held(['open', uniquePath('syscount-api'), '7']);
    const pids = [w.pid!, f.pid!];
    const cli = await startTool('syscount', ['--json', '-p', pids.join(',')]);
    const agg = start({ pid: pids });
    await release(w);
    await release(f);
    const snap = agg.snapshot();
    await agg.close();
    expect((await cli.stop('SIGINT')).code).toBe(0);
    const [line, ...more] = cli.lines().map((l) => JSON.parse(l) as SyscountSnapshot);
    expect(more).toEqual([]);
    const s = byName(snap);
    expect(s.write).toEqual({ name: 'write', id: 1, count: 25, errors: 0 });
    expect(s.openat).toEqual({ name: 'openat', id: 257, count: 8, errors: 7 });
    expect(s.read).toEqual({ name: 'read', id: 0, count: 2, errors: 0 });
    const procs = Object.fromEntries(snap.processes.map((p) => [p.pid, p]));
    expect(procs[w.pid!]).toEqual({ pid: w.pid, comm: 'workload', count: 27, errors: 0 });
    expect(procs[f.pid!]).toEqual({ pid: f.pid, comm: 'workload', count: 8, errors: 7 });
    const sansTime = ({ time, ...r }: SyscountSnapshot) => (void time, r);
    expect(sansTime(snap)).toEqual(sansTime(line));
    expect(Object.keys(snap)).toEqual(Object.keys(line));
  });

  it('--hist: total_ns and a log2 µs histogram of exactly the 40 writes', async () => {
    const w = held(['write', '40']);
    const agg = start({ pid: [w.pid!], syscall: ['write'], hist: true });
    await release(w);
    const snap = agg.snapshot();
    await agg.close();
    expect(snap.syscalls).toHaveLength(1);
    expect(snap.syscalls![0]).toMatchObject({ name: 'write', count: 40, errors: 0 });
    expect(snap.syscalls![0].total_ns).toBeGreaterThan(0);
    const hist = snap.latency_hist_us!.write;
    expect(hist).toHaveLength(SYSCOUNT_HIST_SLOTS);
    expect(hist.reduce((a, b) => a + b, 0)).toBe(40);
  });

  it('close() detaches: no BPF program is left held by this process, and snapshot() then throws', async () => {
    const before = heldPrograms(process.pid).length;
    const agg = start({ process: true });
    expect(heldPrograms(process.pid).length).toBeGreaterThan(before);
    expect(agg.snapshot().syscalls).toBeUndefined();
    await agg.close();
    expect(heldPrograms(process.pid).length).toBe(before);
    expect(() => agg.snapshot()).toThrow(/after close/);
  });

  it('two at once, each with its own filters: writes of one process, failures of the other', async () => {
    const w = held(['write', '12']);
    const f = held(['open', uniquePath('syscount-api2'), '3']);
    const writes = start({ pid: [w.pid!, f.pid!], syscall: ['write'] });
    const failures = start({ pid: [w.pid!, f.pid!], failures: true });
    await release(w);
    await release(f);
    const [a, b] = [writes.snapshot(), failures.snapshot()];
    await Promise.all([writes.close(), failures.close()]);
    expect(a.syscalls).toEqual([{ name: 'write', id: 1, count: 12, errors: 0 }]);
    expect(b.syscalls).toEqual([{ name: 'openat', id: 257, count: 3, errors: 3 }]);
    expect(b.processes.map((p) => [p.pid, p.count, p.errors])).toEqual([[f.pid, 3, 3]]);
  });

  it('bad options throw UsageError at once, with nothing attached', () => {
    const before = heldPrograms(process.pid).length;
    expect(() => start({ errno: 'ENOPE' })).toThrow(/--errno: unknown errno 'ENOPE'/);
    expect(() => start({ syscall: ['nosuchcall'] })).toThrow(/--syscall: unknown syscall 'nosuchcall'/);
    expect(() => start({ top: 0 })).toThrow(UsageError);
    expect(() => start({ pid: [0] })).toThrow(UsageError);
    expect(heldPrograms(process.pid).length).toBe(before);
  });
});
