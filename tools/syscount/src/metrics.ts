/**
 * syscount's Prometheus series (the per-tool metrics contract, libs/metrics/README.md): register()
 * for `syscount --metrics` and the exporter, open() for the exporter. Read from the kernel maps
 * when Prometheus scrapes (nothing per event in user space); the maps hold totals since attach,
 * which is what a counter is.
 */
import type { Session } from '@bpf-recipes/cli';
import type { Metrics } from '@bpf-recipes/metrics';
import { decodeHistKey, decodeScStat, type SyscountSkel } from './generated/syscount.js';
import { HIST_SLOTS, openSyscount, syscallNrs } from './object.js';
import { parseSyscalls, syscallName, syscallTable } from '@bpf-recipes/format';

/** What register() reads: the attached object and how it was configured. */
export interface SyscountMaps {
  skel: SyscountSkel;
  /** the syscall numbers to read (--syscall's, or every one of the table) */
  nrs: number[];
  names: readonly (string | undefined)[];
  /** the duration histogram is kept (the hists map holds µs log2 slots) */
  latency: boolean;
}

/** The exporter's options for syscount (its config file), named as the command's options. */
export interface SyscountMetricsOptions {
  /** -L: bpf_recipes_syscall_duration_seconds too */
  latency?: boolean;
  /** --syscall: only these (comma-separated names or numbers) */
  syscall?: string;
}

export const OPTIONS: Record<keyof SyscountMetricsOptions, 'boolean' | 'string'> = { latency: 'boolean', syscall: 'string' };

export function open(session: Session, o: SyscountMetricsOptions): SyscountMaps {
  const names = syscallTable();
  const only = o.syscall === undefined ? undefined : parseSyscalls(o.syscall, names);
  const latency = Boolean(o.latency);
  const skel = openSyscount(session, { latency, hist: latency, only, names });
  return { skel, nrs: syscallNrs(only, names), names, latency };
}

export function register(m: Metrics, k: SyscountMaps): void {
  const syscalls = k.skel.maps.syscalls;
  const hists = k.skel.maps.hists;
  const key = Buffer.alloc(4);
  const read = () => {
    const out: { name: string; nr: number; count: number; errors: number; total_ns: number }[] = [];
    for (const nr of k.nrs) {
      key.writeUInt32LE(nr);
      let count = 0;
      let errors = 0;
      let total_ns = 0;
      for (const v of syscalls.lookupPerCpu(key)) {
        const s = decodeScStat(v, 0);
        count += s.count;
        errors += s.errors;
        total_ns += s.total_ns;
      }
      if (count > 0) out.push({ name: syscallName(nr, k.names), nr, count, errors, total_ns });
    }
    return out;
  };
  m.counter('syscalls_total', 'system calls that returned, by syscall (what syscount counts, its filters applied)', () =>
    read().map((s) => ({ labels: { syscall: s.name }, value: s.count })));
  // the kernel side counts failures per syscall, not per errno: no errno label
  m.counter('syscall_errors_total', 'system calls that returned an error (below 0), by syscall', () =>
    read().map((s) => ({ labels: { syscall: s.name }, value: s.errors })));
  if (!k.latency) return;
  // slots of whole µs (ns / 1000): bucket bounds 2^k µs - 1 ns
  m.log2Histogram('syscall_duration_seconds', 'time from syscall entry to exit, by syscall', { unit: 1e-6, resolution: 1e-9 }, () => {
    const total = new Map(read().map((s) => [s.nr, s.total_ns]));
    const byNr = new Map<number, number[]>();
    for (const hk of hists.keys()) {
      const { nr, slot } = decodeHistKey(hk, 0);
      const slots = byNr.get(nr) ?? new Array<number>(HIST_SLOTS).fill(0);
      slots[slot] += hists.sumU64(hk);
      byNr.set(nr, slots);
    }
    return [...byNr].map(([nr, slots]) => ({ labels: { syscall: syscallName(nr, k.names) }, slots, sum: (total.get(nr) ?? 0) / 1e9 }));
  });
}
