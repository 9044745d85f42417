/**
 * gethostlatency's Prometheus series (the per-tool metrics contract, libs/metrics/README.md):
 * register() for `gethostlatency --metrics` and the exporter, open() for the exporter. The return
 * probe adds each lookup to this CPU's totals for its function in lookup_metrics (count, exact sum,
 * log2 µs slots), after --min-latency and the common filters, next to the ring buffer's event; a
 * scrape sums the CPUs. Nothing per event in user space.
 */
import type { Session } from '@bpf-recipes/runtime';
import type { ToolMetrics, Metrics } from '@bpf-recipes/metrics';
import { GHL_HIST_SLOTS, decodeGhlMetric, type GethostlatencySkel } from './generated/gethostlatency.js';
import { FUNCS } from './names.js';
import { setup } from './trace.js';

/** The exporter's options for gethostlatency (its config file), named as the command's options. */
export interface GethostlatencyMetricsOptions {
  /** --libc: the libc to probe (default the system's) */
  libc?: string;
}

/** The exporter: gethostlatency's probes counting into lookup_metrics, no event sent. */
export function open(session: Session, o: GethostlatencyMetricsOptions): GethostlatencySkel {
  return setup(session, { libc: o.libc }, { metrics: true, events: false });
}

/** Each function's totals, summed over the CPUs (functions with no lookup left out). */
export function lookupTotals(skel: GethostlatencySkel): { func: string; count: number; lat_ns: number; slots: number[] }[] {
  const out: { func: string; count: number; lat_ns: number; slots: number[] }[] = [];
  const key = Buffer.alloc(4);
  FUNCS.forEach((func, id) => {
    key.writeUInt32LE(id);
    const t = { func, count: 0, lat_ns: 0, slots: new Array<number>(GHL_HIST_SLOTS).fill(0) };
    for (const v of skel.maps.lookup_metrics.lookupPerCpu(key)) {
      const m = decodeGhlMetric(v, 0);
      t.count += m.count;
      t.lat_ns += m.lat_ns;
      m.slots.forEach((n, i) => (t.slots[i] += n));
    }
    if (t.count) out.push(t);
  });
  return out;
}

export function register(m: Metrics, skel: GethostlatencySkel): void {
  // slots of whole µs (ns / 1000): bucket bounds 2^k µs - 1 ns; _count is the number of lookups
  m.log2Histogram('name_lookup_duration_seconds', 'time in libc\'s name lookups (getaddrinfo, gethostbyname and relatives), by function', { unit: 1e-6, resolution: 1e-9 }, () =>
    lookupTotals(skel).map((t) => ({ labels: { func: t.func }, slots: t.slots, sum: t.lat_ns / 1e9 })));
}

/** The exporter's typed entry (`@bpf-recipes/gethostlatency/metrics`): the config's options, open(), register(). */
export const metrics: ToolMetrics<Session, GethostlatencyMetricsOptions, GethostlatencySkel> = { options: { libc: 'string' }, open, register };
