/**
 * syscount --metrics: its series, read from the kernel maps when Prometheus scrapes (nothing per
 * event in user space). The maps hold totals since attach, which is what a counter is.
 */
import type { BpfMap } from '@bpf-recipes/core';
import type { ToolMetrics } from '@bpf-recipes/metrics';
import { decodeHistKey, decodeScStat } from './generated/syscount.js';
import { syscallName } from './syscalls.js';

export interface SyscountMaps {
  syscalls: BpfMap;
  hists: BpfMap;
  /** the syscall numbers to read (--syscall's, or every one of the table) */
  nrs: number[];
  names: readonly (string | undefined)[];
  /** -L: the latency histogram is kept (hists holds µs log2 slots) */
  latency: boolean;
  slots: number;
}

export function registerSyscountMetrics(m: ToolMetrics, k: SyscountMaps): void {
  const key = Buffer.alloc(4);
  const read = () => {
    const out: { name: string; nr: number; count: number; errors: number; total_ns: number }[] = [];
    for (const nr of k.nrs) {
      key.writeUInt32LE(nr);
      let count = 0;
      let errors = 0;
      let total_ns = 0;
      for (const v of k.syscalls.lookupPerCpu(key)) {
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
    for (const hk of k.hists.keys()) {
      const { nr, slot } = decodeHistKey(hk, 0);
      const slots = byNr.get(nr) ?? new Array<number>(k.slots).fill(0);
      slots[slot] += k.hists.sumU64(hk);
      byNr.set(nr, slots);
    }
    return [...byNr].map(([nr, slots]) => ({ labels: { syscall: syscallName(nr, k.names) }, slots, sum: (total.get(nr) ?? 0) / 1e9 }));
  });
}
