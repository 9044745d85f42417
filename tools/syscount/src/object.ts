/** syscount's kernel side, opened, configured and attached on a Session: what the command and the exporter share. */
import { loadPreferringBtf, type Session } from '@bpf-recipes/runtime';
import type { MetricsBy } from '@bpf-recipes/metrics';
import { syscallBitmap, syscallExitConfig } from '@bpf-recipes/format';
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
  /** --metrics-by: count per syscall and comm or cgroup too (syscalls_by) */
  metricsBy?: MetricsBy;
}

export function openSyscount(session: Session, o: SyscountKernelOptions): SyscountSkel {
  const names = o.names;
  const config = {
    cfg_latency: o.latency,
    cfg_hist: o.hist,
    cfg_failures: Boolean(o.failures),
    cfg_errno: o.errno ?? 0,
    cfg_processes: true,
    cfg_filter_syscalls: o.only !== undefined,
    cfg_syscalls: syscallBitmap(o.only ?? [], MAX_NR / 8),
    cfg_nr_execve: names.indexOf('execve'),
    cfg_nr_execveat: names.indexOf('execveat'),
    // fork-like calls and rt_sigreturn counted once each
    ...syscallExitConfig(names),
  };
  // BTF tracepoints first; the classic tracepoints where they cannot load
  const tryLoad = (btf: boolean): SyscountSkel => {
    const skel = session.open(SyscountSkel, new URL('../bpf/syscount.bpf.o', import.meta.url), config, { by: o.metricsBy });
    const { maps, progs, obj } = skel;
    if (!o.hist) obj.setMaxEntries(maps.hists, 1);
    if (!o.metricsBy) obj.setMaxEntries(maps.syscalls_by, 1);
    if (btf || !o.latency) obj.setMaxEntries(maps.start_tid, 1);
    const wanted = btf ? [progs.syscount_btf_enter, progs.syscount_btf_exit] : [progs.syscount_tp_enter, progs.syscount_tp_exit];
    for (const p of Object.values(progs)) obj.setAutoload(p.name, wanted.includes(p));
    session.loadAndAttach(skel);
    return skel;
  };
  return loadPreferringBtf(session, tryLoad);
}

/** The syscall numbers to read: --syscall's, or every one of the table. */
export function syscallNrs(only: number[] | undefined, names: readonly (string | undefined)[]): number[] {
  return only ?? Array.from({ length: Math.min(MAX_NR, Math.max(names.length + 64, 512)) }, (_, i) => i);
}
