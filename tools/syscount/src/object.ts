/** syscount's kernel side, opened, configured and attached on a Session: what the command and the exporter share. */
import { fileURLToPath } from 'node:url';
import type { Session } from '@bpf-recipes/cli';
import type { BpfObject } from '@bpf-recipes/core';
import { rodata } from './generated/syscount.js';

export const MAX_NR = 1024;
export const HIST_SLOTS = 40;

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

export function openSyscount(session: Session, o: SyscountKernelOptions): BpfObject {
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
  const objPath = fileURLToPath(new URL('../bpf/syscount.bpf.o', import.meta.url));
  const tryLoad = (btf: boolean): BpfObject => {
    const obj = session.open(objPath, rodata, config);
    obj.setMaxEntries('events', 4096); // no event stream: counts live in maps
    if (!o.hist) obj.setMaxEntries('hists', 1);
    if (btf || !o.latency) obj.setMaxEntries('start_tid', 1);
    for (const p of obj.programs) obj.setAutoload(p.name, p.name.startsWith(btf ? 'syscount_btf_' : 'syscount_tp_'));
    session.loadAndAttach(obj);
    return obj;
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
