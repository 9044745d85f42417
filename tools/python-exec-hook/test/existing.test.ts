import { describe, expect, it } from 'vitest';
import { existingAllowed, type ProcReader } from '../src/existing.js';

// pid 10: root's python3 in /app/web; pid 20: uid 1000's worker.py in /app/batch/job; pid 30: gone
const procs: Record<number, { uid: number; comm: string; cg: string }> = {
  10: { uid: 0, comm: 'python3', cg: '/app/web' },
  20: { uid: 1000, comm: 'worker.py', cg: '/app/batch/job' },
};
const inodes: Record<string, bigint> = { '/cg': 1n, '/cg/app': 2n, '/cg/app/web': 3n, '/cg/app/batch': 4n, '/cg/app/batch/job': 5n };
const reader: ProcReader = {
  uid: (pid) => procs[pid]?.uid,
  comm: (pid) => procs[pid]?.comm,
  cgroupPath: (pid) => procs[pid]?.cg,
  ino: (p) => inodes[p],
};
const allowed = (f: Parameters<typeof existingAllowed>[1]) => [10, 20, 30].filter((pid) => existingAllowed(pid, f, reader));

describe('--include-existing filters', () => {
  it('no filter: every process', () => {
    expect(allowed({})).toEqual([10, 20, 30]);
  });
  it('-u: the real UID', () => {
    expect(allowed({ uid: 1000 })).toEqual([20]);
    expect(allowed({ uid: 0 })).toEqual([10]);
  });
  it('-n: comm contains', () => {
    expect(allowed({ name: 'work' })).toEqual([20]);
  });
  it('-c: the cgroup or any below it, as the kernel checks the ancestor at its depth', () => {
    expect(allowed({ cgroup: { id: 4n, level: 2, mount: '/cg' } })).toEqual([20]);
    expect(allowed({ cgroup: { id: 2n, level: 1, mount: '/cg' } })).toEqual([10, 20]);
    expect(allowed({ cgroup: { id: 5n, level: 3, mount: '/cg' } })).toEqual([20]);
    expect(allowed({ cgroup: { id: 1n, level: 0, mount: '/cg' } })).toEqual([10, 20]);
  });
});
