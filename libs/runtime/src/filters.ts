/**
 * The common filters of every tool (pid, tid, uid, comm, cgroup) and how they become kernel
 * config; the namespace and cgroup v2 discovery they need. Library-safe: the command line's
 * option table is libs/cli's, the parsers here serve both the command and the typed API.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { UsageError, recipesConfig, type CommonFilters } from '@bpf-recipes/core';

/**
 * --metrics-by comm|cgroup|container and --metrics-top N (the command's, or the exporter config's metricsBy,
 * metricsTop): undefined without --metrics-by; a UsageError naming the fix otherwise.
 */
export function parseMetricsBy(
  tool: string,
  by: unknown,
  top: unknown,
  names = { by: '--metrics-by', top: '--metrics-top' },
  /** does the tool count by comm or cgroup in the kernel (its spec's or its metrics entry's word), and which tools do */
  has: { metricsBy: boolean; tools?: readonly string[] } = { metricsBy: true },
): { by: 'comm' | 'cgroup' | 'container'; top: number } | undefined {
  if (by === undefined) {
    if (top !== undefined) throw new UsageError(`${names.top} goes with ${names.by} comm|cgroup|container`);
    return undefined;
  }
  if (!has.metricsBy) throw new UsageError(`${names.by}: ${tool} has no series by comm or cgroup (${has.tools ? `tools that have: ${has.tools.join(', ')}` : 'leave it out'})`);
  if (by !== 'comm' && by !== 'cgroup' && by !== 'container') throw new UsageError(`${names.by}: '${String(by)}' is not comm, cgroup or container`);
  const n = top === undefined ? 20 : typeof top === 'number' ? top : /^\d+$/.test(String(top)) ? Number(top) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 10000) throw new UsageError(`${names.top}: '${String(top)}' is not a whole number from 1 to 10000`);
  return { by, top: n };
}

export const MAX_PIDS = 16;

export function parseIntArg(opt: string, v: unknown, what: string, min = 0, max = 2 ** 32 - 1): number {
  const s = String(v).trim();
  if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) throw new UsageError(`--${opt}: '${s}' is not ${what}`);
  return Number(s);
}

export function parsePids(v: unknown, opt = 'pid'): number[] {
  const parts = String(v).split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new UsageError(`--${opt}: give PID[,PID...]`);
  if (parts.length > MAX_PIDS) throw new UsageError(`--${opt}: at most ${MAX_PIDS} PIDs`);
  return parts.map((p) => parseIntArg(opt, p, 'a process ID (use PID[,PID...])', 1, 4194304));
}

export function parseSize(v: unknown, opt = 'buffer-size'): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(String(v).trim());
  const n = m ? Number(m[1]) * ({ '': 1, k: 1024, m: 1 << 20, g: 1 << 30 } as Record<string, number>)[m[2].toLowerCase()] : NaN;
  if (!m || n < 4096 || n > 1 << 30 || (n & (n - 1)) !== 0) {
    throw new UsageError(`--${opt}: '${v}' is not a power of two between 4K and 1G (e.g. 8M)`);
  }
  return n;
}

/**
 * The cgroup v2 mounts, from /proc/self/mountinfo: where each is, and which directory of the
 * hierarchy (as this cgroup namespace names it) it shows. A mount hidden by a later one on the
 * same point is left out.
 */
export function cgroup2Mounts(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): { mount: string; root: string }[] {
  const byPoint = new Map<string, { mount: string; root: string }>();
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    const f = pre.split(' ');
    if (f.length < 5) continue;
    if (post?.startsWith('cgroup2 ')) byPoint.set(f[4], { mount: f[4], root: f[3] });
    else byPoint.delete(f[4]);
  }
  return [...byPoint.values()];
}

/** The first cgroup v2 mount (the one a relative --cgroup PATH is taken under). */
export function cgroup2MountInfo(mountinfo?: string): { mount: string; root: string } | undefined {
  return cgroup2Mounts(mountinfo)[0];
}

/** cgroup v2 mount point, from /proc/self/mountinfo. */
export function cgroup2Mount(mountinfo?: string): string | undefined {
  return cgroup2MountInfo(mountinfo)?.mount;
}

/** include/linux/proc_ns.h: the inodes of the initial namespaces, the same on every kernel. */
export const INIT_PID_NS_INO = 0xeffffffcn;
export const INIT_CGROUP_NS_INO = 0xeffffffbn;

const nsInode = (kind: string): bigint | undefined => {
  try {
    return statSync(`/proc/self/ns/${kind}`, { bigint: true }).ino;
  } catch {
    return undefined;
  }
};

/** Is this process in a cgroup namespace of its own (a container's), whose root hides its depth? */
export function inCgroupNamespace(): boolean {
  const ino = nsInode('cgroup');
  return ino !== undefined && ino !== INIT_CGROUP_NS_INO;
}

/** A user-space dev_t (glibc's encoding, as stat(2) gives it) as the kernel's own (major << 20 | minor). */
export function kernelDev(dev: bigint): bigint {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return (major << 20n) | minor;
}

/**
 * This process's PID namespace when it is not the initial one (a container's): the device and
 * inode of /proc/self/ns/pid, as bpf_get_ns_current_pid_tgid() takes them. undefined on the host.
 */
export function pidNamespace(): { dev: bigint; ino: bigint } | undefined {
  let st;
  try {
    st = statSync('/proc/self/ns/pid', { bigint: true });
  } catch {
    return undefined; // no /proc: ids stay the kernel's
  }
  if (st.ino === INIT_PID_NS_INO) return undefined;
  return { dev: kernelDev(st.dev), ino: st.ino };
}

/**
 * A cgroup v2 directory → its id (the kernfs inode) and its depth below the hierarchy's root.
 * Inside a cgroup namespace the root the mount shows is the namespace's, not the hierarchy's: the
 * depth counted here is then only the least the real one can be (`levelKnown` false), and the
 * kernel side looks the id up among a task's ancestors instead.
 */
export function parseCgroup(v: unknown): { id: bigint; level: number; levelKnown: boolean; path: string } {
  const mounts = cgroup2Mounts();
  if (mounts.length === 0) throw new UsageError('--cgroup: no cgroup v2 filesystem is mounted (mount -t cgroup2 none /sys/fs/cgroup)');
  const given = String(v);
  const path = isAbsolute(given) ? resolve(given) : join(mounts[0].mount, given);
  const under = (m: string) => {
    const rel = relative(m, path);
    return !(rel.startsWith('..') || isAbsolute(rel));
  };
  // the mount the path is under (the deepest, when one is inside another)
  const info = mounts.filter((m) => under(m.mount)).sort((a, b) => b.mount.length - a.mount.length)[0];
  if (!info) throw new UsageError(`--cgroup: ${given} is not under the cgroup v2 mount ${mounts.map((m) => m.mount).join(' or ')}`);
  const mount = info.mount;
  const rel = relative(mount, path);
  let st;
  try {
    st = statSync(path, { bigint: true });
  } catch {
    throw new UsageError(`--cgroup: ${path} does not exist (give a cgroup v2 directory under ${mount})`);
  }
  if (!st.isDirectory()) throw new UsageError(`--cgroup: ${path} is not a cgroup directory`);
  const depth = (p: string) => p.split('/').filter((x) => x && x !== '.').length;
  // a root outside this cgroup namespace ("/../x") says nothing of depth: search from 0 then
  const rootDepth = info.root.split('/').includes('..') ? 0 : depth(info.root);
  return { id: st.ino, level: rootDepth + depth(rel), levelKnown: !inCgroupNamespace(), path };
}

/** The common filters as the command line gives them (strings, unparsed). */
export interface FilterArgs {
  pid?: string;
  tid?: string;
  uid?: string;
  name?: string;
  cgroup?: string;
}

/** The common options as filters (recipes.h's, by meaning; core names their config). */
export function commonFilters(a: FilterArgs): CommonFilters {
  const f: CommonFilters = {};
  if (a.pid !== undefined) f.pids = parsePids(a.pid);
  if (a.tid !== undefined) f.tid = parseIntArg('tid', a.tid, 'a thread ID', 1, 4194304);
  if (a.uid !== undefined) f.uid = parseIntArg('uid', a.uid, 'a user ID');
  if (a.name !== undefined) {
    const n = Buffer.from(a.name, 'utf8');
    if (n.length === 0 || n.length > 15) throw new UsageError(`--name: '${a.name}' must be 1 to 15 bytes (a comm is at most 15)`);
    f.comm = a.name;
  }
  if (a.cgroup !== undefined) {
    const c = parseCgroup(a.cgroup);
    f.cgroup = { id: c.id, level: c.level, levelKnown: c.levelKnown };
  }
  return f;
}

/** The common options as the kernel config of recipes.h. */
export function commonConfig(a: FilterArgs): Record<string, unknown> {
  return recipesConfig(commonFilters(a));
}

