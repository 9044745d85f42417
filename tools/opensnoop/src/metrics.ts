/**
 * opensnoop's Prometheus series (the per-tool metrics contract, libs/metrics/README.md): register()
 * for `opensnoop --metrics` and the exporter, open() for the exporter. The exit programs add each
 * open to this CPU's count for its result in open_results (after -x, -F and the common filters),
 * next to the ring buffer's record; a scrape sums the CPUs. Nothing per event in user space.
 */
import type { Session } from '@bpf-recipes/runtime';
import { errnoName } from '@bpf-recipes/format';
import { parseMetricsBy } from '@bpf-recipes/runtime';
import type { Metrics, MetricsBy } from '@bpf-recipes/metrics';
import { OPEN_RESULT_KEY_OFFSETS, type OpensnoopSkel } from './generated/opensnoop.js';
import { setup } from './trace.js';

/** The exporter's options for opensnoop (its config file), named as the command's options. */
export interface OpensnoopMetricsOptions {
  /** -x: only failed opens */
  failed?: boolean;
  /** --metrics-by: comm or cgroup */
  metricsBy?: string;
  /** --metrics-top: how many comms or cgroups keep their label (default 20) */
  metricsTop?: number;
}

export const OPTIONS: Record<keyof OpensnoopMetricsOptions, 'boolean' | 'string' | 'number'> = { failed: 'boolean', metricsBy: 'string', metricsTop: 'number' };

/** What register() reads: the object, and --metrics-by's choice. */
export interface OpensnoopMaps {
  skel: OpensnoopSkel;
  by?: MetricsBy;
}

/** The exporter: opensnoop's programs counting into open_results, no event sent. */
export function open(session: Session, o: OpensnoopMetricsOptions): OpensnoopMaps {
  const by = parseMetricsBy('opensnoop', o.metricsBy, o.metricsTop, { by: 'opensnoop.metricsBy', top: 'opensnoop.metricsTop' });
  return { skel: setup(session, { failed: o.failed }, { metrics: true, events: false, by }), by };
}

/** Opens by result ('ok' or the errno's name) and by the key's comm or cgroup bytes (label()), summed over the CPUs. */
export function openResults(skel: OpensnoopSkel, label?: (key: Buffer, off: number) => string): { result: string; by: string; count: number }[] {
  const map = skel.maps.open_results;
  const rows = new Map<string, { result: string; by: string; count: number }>();
  for (const k of map.keys()) {
    const err = k.readUInt32LE(0);
    const result = err === 0 ? 'ok' : errnoName(err);
    const by = label ? label(k, OPEN_RESULT_KEY_OFFSETS.by) : '';
    const count = map.lookupPerCpu(k).reduce((s, v) => s + Number(v.readBigUInt64LE(0)), 0);
    const id = `${result}\0${by}`;
    const have = rows.get(id);
    if (have) have.count += count;
    else rows.set(id, { result, by, count });
  }
  return [...rows.values()].sort((a, b) => a.result.localeCompare(b.result) || a.by.localeCompare(b.by));
}

export function register(m: Metrics, h: OpensnoopMaps): void {
  const { skel, by } = h;
  if (!by) {
    m.counter('opens_total', 'open(2), openat(2) and openat2(2) calls, by result (ok or the errno name)', () =>
      openResults(skel).map((r) => ({ labels: { result: r.result }, value: r.count })));
    return;
  }
  // --metrics-by: the top N comms (or cgroups) by opens keep their label, the rest are "other"
  const folder = m.byFolder(by);
  m.counter('opens_total', `open(2), openat(2) and openat2(2) calls, by result (ok or the errno name) and ${by.by} (the top ${by.top}, the rest "other")`, () => {
    folder.scrape();
    const rows = openResults(skel, (k, off) => folder.label(k, off)).map((r) => ({ by: r.by, labels: { result: r.result }, values: [r.count] }));
    return folder.fold(rows).map((r) => ({ labels: r.labels, value: r.values[0] }));
  });
}
