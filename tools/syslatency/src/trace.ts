/**
 * syslatency's tracing, shared by the command (main.ts) and the typed API (index.ts start()):
 * open the skeleton, set its typed config, load (BTF tracepoints, else the classic ones), attach,
 * and read the kernel's histograms.
 */
import { loadPreferringBtf, type CommonTraceOptions, type Session } from '@bpf-recipes/runtime';
import { UsageError } from '@bpf-recipes/core';
import { parseSyscalls, syscallBitmap, syscallExitConfig, syscallName, syscallTable } from '@bpf-recipes/format';
import { HIST_SIZE, SYSLATENCY_HIST_SLOTS, SYSLATENCY_MAX_NR, SyslatencyBy, SyslatencySkel, decodeHist, decodeHistKey } from './generated/syslatency.js';

export const BY = ['comm', 'pid', 'tid', 'syscall'] as const;
export type By = (typeof BY)[number];
const BY_CONFIG: Record<By, SyslatencyBy> = {
  comm: SyslatencyBy.SYSLATENCY_BY_COMM,
  pid: SyslatencyBy.SYSLATENCY_BY_PID,
  tid: SyslatencyBy.SYSLATENCY_BY_TID,
  syscall: SyslatencyBy.SYSLATENCY_BY_SYSCALL,
};

/** The typed API's options: the command's, by their long names. */
export interface SyslatencyOptions extends CommonTraceOptions {
  /** syscall names (or numbers) to time; every syscall when undefined or empty (`SYSCALL...`) */
  syscalls?: string[];
  /** one histogram per program name (default), process, thread or syscall (`--by`) */
  by?: By;
  /** slots in milliseconds instead of microseconds (`-m`) */
  milliseconds?: boolean;
}

/** One key's histogram. */
export interface Histogram {
  /** --by comm (and the name seen last with pid/tid) */
  comm?: string;
  pid?: number;
  tid?: number;
  /** --by syscall: the name, and its number */
  syscall?: string;
  id?: number;
  /** calls per log2 slot of the latency in `unit`: slot 0 holds 0, slot 1 holds 1, slot k holds [2^(k-1), 2^k) */
  slots: number[];
  /** calls (the sum of the slots) */
  count: number;
  /** their latency added up, in nanoseconds */
  total_ns: number;
}

/** What the kernel counted since start (totals). */
export interface Snapshot {
  by: By;
  unit: 'us' | 'ms';
  histograms: Histogram[];
  /** calls not counted because the kernel's table of keys was full */
  missed: number;
}

/** Validated options (UsageError on bad input). */
export function checkOptions(o: SyslatencyOptions): { by: By; nrs: number[] | undefined } {
  const by = o.by ?? 'comm';
  if (!BY.includes(by)) throw new UsageError(`--by: '${String(by)}' is not one of ${BY.join(', ')}`);
  const nrs = o.syscalls?.length
    ? parseSyscalls(o.syscalls, syscallTable(), { what: '', hint: ' (syslatency -l lists them)', max: SYSLATENCY_MAX_NR })
    : undefined;
  return { by, nrs };
}

/** A stable key of a histogram (the same comm, pid, tid or syscall in two snapshots). */
export function histogramKey(h: Histogram): string {
  return String(h.syscall ?? h.tid ?? h.pid ?? h.comm);
}

/**
 * Open, configure, load and attach on the session; returns the reader of the histograms. The
 * session's common filters apply at syscall entry.
 */
export function setup(session: Session, o: SyslatencyOptions): () => Snapshot {
  const { by, nrs } = checkOptions(o);
  const names = syscallTable();
  const unit = o.milliseconds ? 'ms' : 'us';
  const config = {
    cfg_by: BY_CONFIG[by],
    cfg_unit_ns: o.milliseconds ? 1_000_000 : 1000,
    cfg_filter_syscalls: nrs !== undefined,
    cfg_syscalls: syscallBitmap(nrs ?? [], SYSLATENCY_MAX_NR / 8),
    ...syscallExitConfig(names),
  };
  const skel = loadPreferringBtf(session, (btf) => {
    const s = session.open(SyslatencySkel, new URL('../bpf/syslatency.bpf.o', import.meta.url), config);
    const { progs, maps } = s;
    for (const p of [progs.syslatency_btf_enter, progs.syslatency_btf_exit]) s.obj.setAutoload(p.name, btf);
    for (const p of [progs.syslatency_tp_enter, progs.syslatency_tp_exit]) s.obj.setAutoload(p.name, !btf);
    // the start times of the hooks not loaded are never used
    s.obj.setMaxEntries(maps.start_tid, btf ? 1 : 10240);
    session.loadAndAttach(s);
    return s;
  });
  const { hists, missed } = skel.maps;
  const zero = Buffer.alloc(4);

  return () => {
    const out = new Map<string, Histogram>();
    for (const k of hists.keys()) {
      const key = decodeHistKey(k, 0);
      const h: Histogram =
        by === 'comm' ? { comm: key.comm, slots: [], count: 0, total_ns: 0 }
        : by === 'syscall' ? { syscall: syscallName(key.id, names), id: key.id, slots: [], count: 0, total_ns: 0 }
        : { ...(by === 'pid' ? { pid: key.id } : { tid: key.id }), comm: '', slots: [], count: 0, total_ns: 0 };
      h.slots = new Array(SYSLATENCY_HIST_SLOTS).fill(0);
      let values: Buffer[];
      try {
        values = hists.lookupPerCpu(k);
      } catch {
        continue; // gone between keys() and lookup (never deleted while tracing; but a closed map)
      }
      for (const v of values) {
        if (v.length < HIST_SIZE) continue;
        const c = decodeHist(v, 0);
        for (let s = 0; s < SYSLATENCY_HIST_SLOTS; s++) h.slots[s] += c.slots[s];
        h.total_ns += c.total_ns;
        if (h.comm === '' && c.comm) h.comm = c.comm;
      }
      h.count = h.slots.reduce((a, b) => a + b, 0);
      if (h.count) out.set(histogramKey(h), h);
    }
    return { by, unit, histograms: [...out.values()], missed: missed.sumU64(zero) };
  };
}
