/**
 * --include-existing reads /proc, where the kernel's filters (recipes_task_allowed) do not reach:
 * the same -u, -n and -c checks, made here on what /proc says about a process.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface ExistingFilter {
  uid?: number;
  /** comm contains this */
  name?: string;
  cgroup?: { id: bigint; level: number; mount: string };
}

export interface ProcReader {
  /** real UID (the first of /proc/PID/status Uid:) */
  uid(pid: number): number | undefined;
  comm(pid: number): string | undefined;
  /** the cgroup v2 path (the "0::" line of /proc/PID/cgroup) */
  cgroupPath(pid: number): string | undefined;
  /** inode of a directory, the cgroup id */
  ino(path: string): bigint | undefined;
}

export function existingAllowed(pid: number, f: ExistingFilter, r: ProcReader = procReader): boolean {
  if (f.uid !== undefined && r.uid(pid) !== f.uid) return false;
  if (f.name !== undefined && !(r.comm(pid) ?? '').includes(f.name)) return false;
  if (f.cgroup) {
    // as bpf_get_current_ancestor_cgroup_id(level) == id: the ancestor at the filter's depth is the filter's cgroup
    const path = r.cgroupPath(pid);
    if (path === undefined) return false;
    const parts = path.split('/').filter(Boolean);
    if (parts.length < f.cgroup.level) return false;
    if (r.ino(join(f.cgroup.mount, ...parts.slice(0, f.cgroup.level))) !== f.cgroup.id) return false;
  }
  return true;
}

const read = (p: string): string | undefined => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
};

export const procReader: ProcReader = {
  uid: (pid) => {
    const m = /^Uid:\s*(\d+)/m.exec(read(`/proc/${pid}/status`) ?? '');
    return m ? Number(m[1]) : undefined;
  },
  comm: (pid) => read(`/proc/${pid}/comm`)?.trimEnd(),
  cgroupPath: (pid) => /^0::(\S*)$/m.exec(read(`/proc/${pid}/cgroup`) ?? '')?.[1],
  ino: (path) => {
    try {
      return statSync(path, { bigint: true }).ino;
    } catch {
      return undefined;
    }
  },
};
