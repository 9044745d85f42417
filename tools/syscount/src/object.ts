/** syscount's kernel side, opened, configured and attached on a Session: what the command and the exporter share. */
import type { Session } from '@bpf-recipes/cli';
import { SYSCOUNT_HIST_SLOTS, SYSCOUNT_MAX_NR, SyscountSkel } from './generated/syscount.js';

/** bpf/syscount.h's, through codegen */
export const MAX_NR = SYSCOUNT_MAX_NR;
export const HIST_SLOTS = SYSCOUNT_HIST_SLOTS;

export interface SyscountKernelOptions {
  /** time each call (-L) */
  latency: boolean;
  /** keep the per-syscall log2 histogram of durations (--hist; --metrics with -L) */
  hist: boolean;
  failures?: boolean;
  errno?: number;
  /** only these syscall numbers (--syscall) */
  only?: number[];
  /** the syscall table (syscallTable()) */
  names: readonly (string | undefined)[];
}

export function openSyscount(session: Session, o: SyscountKernelOptions): SyscountSkel {
  const bitmap = new Uint8Array(MAX_NR / 8);
  for (const nr of o.only ?? []) bitmap[nr >> 3] |= 1 << (nr & 7);
  const names = o.names;
  const config = {
    cfg_latency: o.latency,
    cfg_hist: o.hist,
    cfg_failures: Boolean(o.failures),
    cfg_errno: o.errno ?? 0,
    cfg_processes: true,
    cfg_filter_syscalls: o.only !== undefined,
    cfg_syscalls: bitmap,
    cfg_nr_execve: names.indexOf('execve'),
    cfg_nr_execveat: names.indexOf('execveat'),
    // counted once (the child's zero return is skipped); -1 where the architecture lacks one
    cfg_nr_clone: names.indexOf('clone'),
    cfg_nr_clone3: names.indexOf('clone3'),
    cfg_nr_fork: names.indexOf('fork'),
    cfg_nr_vfork: names.indexOf('vfork'),
    cfg_nr_rt_sigreturn: names.indexOf('rt_sigreturn'),
  };
  // BTF tracepoints first; the classic tracepoints where they cannot load
  const tryLoad = (btf: boolean): SyscountSkel => {
    const skel = session.open(SyscountSkel, new URL('../bpf/syscount.bpf.o', import.meta.url), config);
    const { maps, progs, obj } = skel;
    obj.setMaxEntries(maps.events, 4096); // no event stream: counts live in maps
    if (!o.hist) obj.setMaxEntries(maps.hists, 1);
    if (btf || !o.latency) obj.setMaxEntries(maps.start_tid, 1);
    const wanted = btf ? [progs.syscount_btf_enter, progs.syscount_btf_exit] : [progs.syscount_tp_enter, progs.syscount_tp_exit];
    for (const p of Object.values(progs)) obj.setAutoload(p.name, wanted.includes(p));
    session.loadAndAttach(skel);
    return skel;
  };
  try {
    return tryLoad(true);
  } catch (e) {
    session.verbose(`BTF tracepoints unavailable (${(e as Error).message}); using raw_syscalls tracepoints`);
    // the failed object stays in the session, closed with it
    return tryLoad(false);
  }
}

/** The syscall numbers to read: --syscall's, or every one of the table. */
export function syscallNrs(only: number[] | undefined, names: readonly (string | undefined)[]): number[] {
  return only ?? Array.from({ length: Math.min(MAX_NR, Math.max(names.length + 64, 512)) }, (_, i) => i);
}
