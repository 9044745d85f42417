/** The common options of every tool (DESIGN.md §4) and the parsers that turn them into kernel config. */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OptionSpec } from './args.js';
import { UsageError } from '@bpf-recipes/core';

export type CommonOption = 'duration' | 'pid' | 'tid' | 'uid' | 'name' | 'cgroup' | 'timestamp' | 'json' | 'verbose' | 'buffer-size';

export const COMMON_OPTIONS: Record<CommonOption, OptionSpec> = {
  duration: { alias: 'd', type: 'string', arg: 'SEC', describe: 'stop after SEC seconds (fractions allowed), then print the summary' },
  pid: { alias: 'p', type: 'string', arg: 'PID[,PID...]', describe: 'only these processes (filtered in the kernel)' },
  tid: { alias: 't', type: 'string', arg: 'TID', describe: 'only this thread' },
  uid: { alias: 'u', type: 'string', arg: 'UID', describe: 'only this user' },
  name: { alias: 'n', type: 'string', arg: 'COMM', describe: 'only processes whose comm contains COMM' },
  cgroup: { alias: 'c', type: 'string', arg: 'PATH', describe: 'only tasks in this cgroup v2 (a directory, e.g. a container\'s)' },
  timestamp: { alias: 'T', type: 'boolean', describe: 'add a wall-clock TIME column' },
  json: { type: 'boolean', describe: 'NDJSON: one JSON object per line on stdout, nothing else' },
  verbose: { alias: 'v', type: 'boolean', describe: "libbpf's log and probe-selection details on stderr" },
  'buffer-size': { type: 'string', arg: 'SIZE', describe: 'ring buffer size, a power of two (e.g. 8M; default 4M)' },
};

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

export function parseDuration(v: unknown): number {
  const s = String(v).trim();
  const n = Number(s);
  if (s === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--duration: '${s}' is not a number of seconds (e.g. 5 or 0.5)`);
  return n;
}

export function parseSize(v: unknown, opt = 'buffer-size'): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(String(v).trim());
  const n = m ? Number(m[1]) * ({ '': 1, k: 1024, m: 1 << 20, g: 1 << 30 } as Record<string, number>)[m[2].toLowerCase()] : NaN;
  if (!m || n < 4096 || n > 1 << 30 || (n & (n - 1)) !== 0) {
    throw new UsageError(`--${opt}: '${v}' is not a power of two between 4K and 1G (e.g. 8M)`);
  }
  return n;
}

/** cgroup v2 mount point, from /proc/self/mountinfo. */
export function cgroup2Mount(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.startsWith('cgroup2 ')) return pre.split(' ')[4];
  }
  return undefined;
}

/** A cgroup v2 directory → its id (the kernfs inode) and its depth below the root. */
export function parseCgroup(v: unknown): { id: bigint; level: number; path: string } {
  const mount = cgroup2Mount();
  if (!mount) throw new UsageError('--cgroup: no cgroup v2 filesystem is mounted (mount -t cgroup2 none /sys/fs/cgroup)');
  const given = String(v);
  const path = isAbsolute(given) ? resolve(given) : join(mount, given);
  const rel = relative(mount, path);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new UsageError(`--cgroup: ${given} is not under the cgroup v2 mount ${mount}`);
  let st;
  try {
    st = statSync(path, { bigint: true });
  } catch {
    throw new UsageError(`--cgroup: ${path} does not exist (give a cgroup v2 directory under ${mount})`);
  }
  if (!st.isDirectory()) throw new UsageError(`--cgroup: ${path} is not a cgroup directory`);
  return { id: st.ino, level: rel === '' ? 0 : rel.split('/').length, path };
}

export interface CommonArgs {
  duration?: string;
  pid?: string;
  tid?: string;
  uid?: string;
  name?: string;
  cgroup?: string;
  timestamp?: boolean;
  json?: boolean;
  verbose?: boolean;
  'buffer-size'?: string;
}

/** The kernel config (recipes.h cfg_*) that the common filters ask for. */
export function commonConfig(a: CommonArgs): Record<string, unknown> {
  const cfg: Record<string, unknown> = {};
  if (a.pid !== undefined) {
    const pids = parsePids(a.pid);
    cfg.cfg_pids = pids;
    cfg.cfg_npids = pids.length;
  }
  if (a.tid !== undefined) cfg.cfg_tid = parseIntArg('tid', a.tid, 'a thread ID', 1, 4194304);
  if (a.uid !== undefined) {
    cfg.cfg_filter_uid = true;
    cfg.cfg_uid = parseIntArg('uid', a.uid, 'a user ID');
  }
  if (a.name !== undefined) {
    const n = Buffer.from(a.name, 'utf8');
    if (n.length === 0 || n.length > 15) throw new UsageError(`--name: '${a.name}' must be 1 to 15 bytes (a comm is at most 15)`);
    cfg.cfg_comm = a.name;
    cfg.cfg_comm_len = n.length;
  }
  if (a.cgroup !== undefined) {
    const c = parseCgroup(a.cgroup);
    cfg.cfg_cgroup_id = c.id;
    cfg.cfg_cgroup_level = c.level;
  }
  return cfg;
}

/** The version in the nearest package.json above a module (works from src/ and dist/ alike). */
export function packageVersion(moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    try {
      return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      const up = dirname(dir);
      if (up === dir) return '0.0.0';
      dir = up;
    }
  }
}
