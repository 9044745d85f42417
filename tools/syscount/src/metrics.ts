/**
 * syscount's Prometheus series (the per-tool metrics contract, libs/metrics/README.md): register()
 * for `syscount --metrics` and the exporter, open() for the exporter. Read from the kernel maps
 * when Prometheus scrapes (nothing per event in user space); the maps hold totals since attach,
 * which is what a counter is.
 */
import type { Session } from '@bpf-recipes/runtime';
import { parseMetricsBy } from '@bpf-recipes/runtime';
import type { ToolMetrics, Metrics, MetricsBy } from '@bpf-recipes/metrics';
import { SC_BY_KEY_OFFSETS, decodeHistKey, decodeScStat, type SyscountSkel } from './generated/syscount.js';
import { HIST_SLOTS, syscallNrs } from './object.js';
import { setup } from './trace.js';
import { syscallName } from '@bpf-recipes/format';

/** What register() reads: the attached object and how it was configured. */
export interface SyscountMaps {
  skel: SyscountSkel;
  /** the syscall numbers to read (--syscall's, or every one of the table) */
  nrs: number[];
  names: readonly (string | undefined)[];
  /** the duration histogram is kept (the hists map holds µs log2 slots) */
  latency: boolean;
  /** --metrics-by: the counters read from syscalls_by, with a comm or cgroup label */
  by?: MetricsBy;
}

/** The exporter's options for syscount (its config file), named as the command's options. */
export interface SyscountMetricsOptions {
  /** -L: bpf_recipes_syscall_duration_seconds too */
  latency?: boolean;
  /** --syscall: only these (comma-separated names or numbers) */
  syscall?: string;
  /** --metrics-by: comm or cgroup */
  metricsBy?: string;
  /** --metrics-top: how many comms or cgroups keep their label (default 20) */
  metricsTop?: number;
}

export function open(session: Session, o: SyscountMetricsOptions): SyscountMaps {
  const by = parseMetricsBy('syscount', o.metricsBy, o.metricsTop, { by: 'syscount.metricsBy', top: 'syscount.metricsTop' });
  const latency = Boolean(o.latency);
  // the command's own setup (and its --syscall parser): -L keeps the histogram for the duration series
  const { skel, only, shape } = setup(session, { latency, ...(o.syscall !== undefined && { syscall: [o.syscall] }) }, true, by);
  return { skel, nrs: syscallNrs(only, shape.names), names: shape.names, latency, by };
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
  if (k.by) registerBy(m, k, k.by);
  else {
  m.counter('syscalls_total', 'system calls that returned, by syscall (what syscount counts, its filters applied)', () =>
    read().map((s) => ({ labels: { syscall: s.name }, value: s.count })));
  // the kernel side counts failures per syscall, not per errno: no errno label
  m.counter('syscall_errors_total', 'system calls that returned an error (below 0), by syscall', () =>
    read().map((s) => ({ labels: { syscall: s.name }, value: s.errors })));
  }
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

/**
 * --metrics-by: the counters by syscall and comm (or cgroup path) from syscalls_by, the top N
 * comms by calls keeping their label and the rest summed into "other". One read serves both
 * families of a scrape (prom-client collects them one after the other).
 */
function registerBy(m: Metrics, k: SyscountMaps, by: MetricsBy): void {
  const folder = m.byFolder(by);
  const map = k.skel.maps.syscalls_by;
  let cached: { at: number; rows: ReturnType<typeof folder.fold> } | undefined;
  const read = () => {
    if (cached && Date.now() - cached.at < 100) return cached.rows;
    folder.scrape();
    const rows = [];
    for (const key of map.keys()) {
      let count = 0;
      let errors = 0;
      for (const v of map.lookupPerCpu(key)) {
        const s = decodeScStat(v, 0);
        count += s.count;
        errors += s.errors;
      }
      if (count > 0) rows.push({ by: folder.label(key, SC_BY_KEY_OFFSETS.by), labels: { syscall: syscallName(key.readUInt32LE(SC_BY_KEY_OFFSETS.nr), k.names) }, values: [count, errors] });
    }
    cached = { at: Date.now(), rows: folder.fold(rows) };
    return cached.rows;
  };
  m.counter('syscalls_total', `system calls that returned, by syscall and ${by.by} (the top ${by.top}, the rest "other")`, () =>
    read().map((r) => ({ labels: r.labels, value: r.values[0] })));
  m.counter('syscall_errors_total', `system calls that returned an error (below 0), by syscall and ${by.by}`, () =>
    read().map((r) => ({ labels: r.labels, value: r.values[1] })));
}

/** The exporter's typed entry (`@bpf-recipes/syscount/metrics`): the config's options, open(), register(). */
export const metrics: ToolMetrics<Session, SyscountMetricsOptions, SyscountMaps> = { options: { latency: 'boolean', syscall: 'string', metricsBy: 'string', metricsTop: 'number' }, open, register };
