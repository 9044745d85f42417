/**
 * biosnoop's Prometheus series (the per-tool metrics contract, libs/metrics/README.md): register()
 * for `biosnoop --metrics` and the exporter, open() for the exporter. An event tool counts in the
 * kernel too: the completion program adds each request to this CPU's totals for its (disk, op) in
 * io_metrics, next to the ring buffer's event; a scrape sums the CPUs. Nothing per event in user space.
 */
import type { Session } from '@bpf-recipes/runtime';
import type { ToolMetrics, Metrics } from '@bpf-recipes/metrics';
import { BIOSNOOP_HIST_SLOTS, decodeIoMetric, decodeIoMetricKey, type BiosnoopSkel } from './generated/biosnoop.js';
import { diskDev, diskName } from './disks.js';
import { openBiosnoop } from './object.js';

/** REQ_OP_* → the op label (the kernel's numbers, include/linux/blk_types.h) */
const OPS: Record<number, string> = { 0: 'read', 1: 'write', 2: 'flush', 3: 'discard', 5: 'secure_erase', 9: 'write_zeroes' };
export const opName = (op: number) => OPS[op] ?? `op${op}`;

/** The exporter's options for biosnoop (its config file), named as the command's options. */
export interface BiosnoopMetricsOptions {
  /** --disk: only this disk */
  disk?: string;
}

/** The exporter: biosnoop's programs counting into io_metrics, no event sent (cfg_events off). */
export function open(session: Session, o: BiosnoopMetricsOptions): BiosnoopSkel {
  return openBiosnoop(session, { cfg_dev: o.disk === undefined ? 0 : diskDev(o.disk), cfg_metrics: true, cfg_events: false });
}

export function register(m: Metrics, skel: BiosnoopSkel): void {
  const map = skel.maps.io_metrics;
  const read = () => {
    const out: { disk: string; op: string; count: number; bytes: number; lat_ns: number; slots: number[] }[] = [];
    for (const k of map.keys()) {
      const key = decodeIoMetricKey(k, 0);
      const t = { disk: diskName(key.dev), op: opName(key.op), count: 0, bytes: 0, lat_ns: 0, slots: new Array<number>(BIOSNOOP_HIST_SLOTS).fill(0) };
      for (const v of map.lookupPerCpu(k)) {
        const c = decodeIoMetric(v, 0);
        t.count += c.count;
        t.bytes += c.bytes;
        t.lat_ns += c.lat_ns;
        c.slots.forEach((n, i) => (t.slots[i] += n));
      }
      out.push(t);
    }
    return out;
  };
  m.counter('block_io_bytes_total', 'bytes of completed block I/O requests, by disk and operation (biosnoop\'s filters applied)', () =>
    read().map((t) => ({ labels: { disk: t.disk, op: t.op }, value: t.bytes })));
  // slots of whole µs (ns / 1000): bucket bounds 2^k µs - 1 ns; _count is the number of requests
  m.log2Histogram('block_io_duration_seconds', 'device latency of block I/O requests (issue to completion), by disk and operation', { unit: 1e-6, resolution: 1e-9 }, () =>
    read().map((t) => ({ labels: { disk: t.disk, op: t.op }, slots: t.slots, sum: t.lat_ns / 1e9 })));
}

/** The exporter's typed entry (`@bpf-recipes/biosnoop/metrics`): the config's options, open(), register(). */
export const metrics: ToolMetrics<Session, BiosnoopMetricsOptions, BiosnoopSkel> = { options: { disk: 'string' }, open, register };
