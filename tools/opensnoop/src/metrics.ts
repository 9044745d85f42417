/**
 * opensnoop's Prometheus series (the per-tool metrics contract, libs/metrics/README.md): register()
 * for `opensnoop --metrics` and the exporter, open() for the exporter. The exit programs add each
 * open to this CPU's count for its result in open_results (after -x, -F and the common filters),
 * next to the ring buffer's record; a scrape sums the CPUs. Nothing per event in user space.
 */
import type { Session } from '@bpf-recipes/cli';
import { errnoName } from '@bpf-recipes/format';
import type { Metrics } from '@bpf-recipes/metrics';
import { type OpensnoopSkel } from './generated/opensnoop.js';
import { setup } from './trace.js';

/** The exporter's options for opensnoop (its config file), named as the command's options. */
export interface OpensnoopMetricsOptions {
  /** -x: only failed opens */
  failed?: boolean;
}

export const OPTIONS: Record<keyof OpensnoopMetricsOptions, 'boolean' | 'string'> = { failed: 'boolean' };

/** The exporter: opensnoop's programs counting into open_results, no event sent. */
export function open(session: Session, o: OpensnoopMetricsOptions): OpensnoopSkel {
  return setup(session, { failed: o.failed }, { metrics: true, events: false });
}

/** Opens by result: 'ok' or the errno's name, summed over the CPUs. */
export function openResults(skel: OpensnoopSkel): { result: string; count: number }[] {
  const map = skel.maps.open_results;
  const out: { result: string; count: number }[] = [];
  for (const k of map.keys()) {
    const err = k.readUInt32LE(0);
    out.push({ result: err === 0 ? 'ok' : errnoName(err), count: map.lookupPerCpu(k).reduce((s, v) => s + Number(v.readBigUInt64LE(0)), 0) });
  }
  return out.sort((a, b) => a.result.localeCompare(b.result));
}

export function register(m: Metrics, skel: OpensnoopSkel): void {
  m.counter('opens_total', 'open(2), openat(2) and openat2(2) calls, by result (ok or the errno name)', () =>
    openResults(skel).map((r) => ({ labels: { result: r.result }, value: r.count })));
}
