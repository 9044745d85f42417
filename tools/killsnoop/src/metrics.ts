/**
 * killsnoop's Prometheus series (the per-tool metrics contract, libs/metrics/README.md): register()
 * for `killsnoop --metrics` and the exporter, open() for the exporter. Counted in the kernel: next
 * to the ring buffer's event, after the filters, each signal adds one to this CPU's count for its
 * (signal, result) in sig_metrics; a scrape sums the CPUs. Nothing per event in user space.
 */
import { parseMetricsBy, type Session } from '@bpf-recipes/runtime';
import { errnoName, signalName } from '@bpf-recipes/format';
import type { ToolMetrics, Metrics, MetricsBy } from '@bpf-recipes/metrics';
import { generateResult } from './codes.js';
import { SIG_METRIC_KEY_OFFSETS, decodeSigMetricKey, type KillsnoopSkel } from './generated/killsnoop.js';
import { parseTpid, setup } from './trace.js';

/** The exporter's options for killsnoop (its config file), named as the command's options. */
export interface KillsnoopMetricsOptions {
  /** every generated signal, the kernel's too */
  'all-signals'?: boolean;
  /** only failed sends (with all-signals: signals not delivered) */
  failed?: boolean;
  /** only these signals, comma-separated (TERM,9,RTMIN+3) */
  signal?: string;
  /** only signals sent to this PID */
  tpid?: string;
  /** --metrics-by: comm or cgroup (the sender's) */
  metricsBy?: string;
  /** --metrics-top: how many comms or cgroups keep their label (default 20) */
  metricsTop?: number;
}

/** What register() reads: the object, and --metrics-by's choice. */
export interface KillsnoopMaps {
  skel: KillsnoopSkel;
  by?: MetricsBy;
}

/** The exporter: killsnoop's programs counting into sig_metrics, no event sent (cfg_events off). */
export function open(session: Session, o: KillsnoopMetricsOptions): KillsnoopMaps {
  const by = parseMetricsBy('killsnoop', o.metricsBy, o.metricsTop, { by: 'killsnoop.metricsBy', top: 'killsnoop.metricsTop' });
  const skel = setup(session, {
    allSignals: o['all-signals'],
    failed: o.failed,
    tpid: o.tpid === undefined ? undefined : parseTpid(o.tpid),
    signal: o.signal?.split(','),
  }, { metrics: true, events: false, by });
  return { skel, by };
}

/** the result label: ok or the errno's name for a syscall; the delivery result for a generated signal */
export const resultLabel = (ret: number, generated: boolean): string => (generated ? generateResult(ret) : ret >= 0 ? 'ok' : errnoName(-ret));

export function register(m: Metrics, h: KillsnoopMaps): void {
  const map = h.skel.maps.sig_metrics;
  const folder = h.by && m.byFolder(h.by);
  const help = 'signals sent (kill(2) and relatives; with -a every generated signal), by signal and result (killsnoop\'s filters applied)';
  m.counter('signals_total', folder ? `${help}, and the sender's ${folder.o.by} (the top ${folder.o.top}, the rest "other")` : help, () => {
    folder?.scrape();
    const rows = new Map<string, { by: string; labels: { signal: string; result: string }; values: number[] }>();
    for (const k of map.keys()) {
      const key = decodeSigMetricKey(k, 0);
      const labels = { signal: signalName(key.sig), result: resultLabel(key.ret, key.generated !== 0) };
      const by = folder ? folder.label(k, SIG_METRIC_KEY_OFFSETS.by) : '';
      const id = `${labels.signal}\0${labels.result}\0${by}`;
      const s = rows.get(id) ?? { by, labels, values: [0] };
      s.values[0] += map.sumU64(k);
      rows.set(id, s);
    }
    return (folder ? folder.fold([...rows.values()]) : [...rows.values()]).map((r) => ({ labels: r.labels, value: r.values[0] }));
  });
}

/** The exporter's typed entry (`@bpf-recipes/killsnoop/metrics`): the config's options, open(), register(). */
export const metrics: ToolMetrics<Session, KillsnoopMetricsOptions, KillsnoopMaps> = { options: {
  'all-signals': 'boolean', failed: 'boolean', signal: 'string', tpid: 'string', metricsBy: 'string', metricsTop: 'number',
}, open, register };
