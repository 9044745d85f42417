/**
 * The names recipes.h (libs/bpf-headers/include/recipes.h) gives what every object shares: its
 * common filters' config and, for objects opened without a skeleton, the ring buffer and the
 * lost-event counter. They are kept here, beside the loader, so that nothing above core names a
 * BPF variable or map.
 */

/** The common filters, by meaning; recipesConfig() turns them into recipes.h's config. */
export interface CommonFilters {
  /** only these processes (at most RECIPES_MAX_PIDS) */
  pids?: number[];
  tid?: number;
  uid?: number;
  /** a substring of the task's comm (1 to 15 bytes) */
  comm?: string;
  cgroup?: { id: bigint | number; level: number; levelKnown: boolean };
  /** the tool's own process, never traced */
  selfTgid?: number;
  /** the tool's PID namespace when it is not the initial one */
  pidns?: { dev: bigint | number; ino: bigint | number };
  /** only the processes of a traced command (traced.ts) */
  tracedOnly?: boolean;
}

/** recipes.h's config variables for these filters (only those that are set). */
export function recipesConfig(f: CommonFilters): Record<string, unknown> {
  const cfg: Record<string, unknown> = {};
  if (f.pids !== undefined) {
    cfg.cfg_pids = f.pids;
    cfg.cfg_npids = f.pids.length;
  }
  if (f.tid !== undefined) cfg.cfg_tid = f.tid;
  if (f.uid !== undefined) {
    cfg.cfg_filter_uid = true;
    cfg.cfg_uid = f.uid;
  }
  if (f.comm !== undefined) {
    cfg.cfg_comm = f.comm;
    cfg.cfg_comm_len = Buffer.byteLength(f.comm, 'utf8');
  }
  if (f.cgroup !== undefined) {
    cfg.cfg_cgroup_id = f.cgroup.id;
    cfg.cfg_cgroup_level = f.cgroup.level;
    if (!f.cgroup.levelKnown) cfg.cfg_cgroup_level_unknown = true;
  }
  if (f.selfTgid !== undefined) cfg.cfg_self_tgid = f.selfTgid;
  if (f.pidns !== undefined) {
    cfg.cfg_pidns_dev = f.pidns.dev;
    cfg.cfg_pidns_ino = f.pidns.ino;
  }
  if (f.tracedOnly) cfg.cfg_traced_only = true;
  return cfg;
}
