/**
 * killsnoop's Prometheus series (the per-tool metrics contract, libs/metrics/README.md): register()
 * for `killsnoop --metrics` and the exporter, open() for the exporter. Counted in the kernel: next
 * to the ring buffer's event, after the filters, each signal adds one to this CPU's count for its
 * (signal, result) in sig_metrics; a scrape sums the CPUs. Nothing per event in user space.
 */
import type { Session } from '@bpf-recipes/cli';
import { errnoName, signalName } from '@bpf-recipes/format';
import type { Metrics } from '@bpf-recipes/metrics';
import { generateResult } from './codes.js';
import { decodeSigMetricKey, type KillsnoopSkel } from './generated/killsnoop.js';
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
}

export const OPTIONS: Record<keyof KillsnoopMetricsOptions, 'boolean' | 'string'> = { 'all-signals': 'boolean', failed: 'boolean', signal: 'string', tpid: 'string' };

/** The exporter: killsnoop's programs counting into sig_metrics, no event sent (cfg_events off). */
export function open(session: Session, o: KillsnoopMetricsOptions): KillsnoopSkel {
  return setup(session, {
    allSignals: o['all-signals'],
    failed: o.failed,
    tpid: o.tpid === undefined ? undefined : parseTpid(o.tpid),
    signal: o.signal?.split(','),
  }, { metrics: true, events: false });
}

/** the result label: ok or the errno's name for a syscall; the delivery result for a generated signal */
export const resultLabel = (ret: number, generated: boolean): string => (generated ? generateResult(ret) : ret >= 0 ? 'ok' : errnoName(-ret));

export function register(m: Metrics, skel: KillsnoopSkel): void {
  const map = skel.maps.sig_metrics;
  m.counter('signals_total', 'signals sent (kill(2) and relatives; with -a every generated signal), by signal and result (killsnoop\'s filters applied)', () => {
    const by = new Map<string, { labels: { signal: string; result: string }; value: number }>();
    for (const k of map.keys()) {
      const key = decodeSigMetricKey(k, 0);
      const labels = { signal: signalName(key.sig), result: resultLabel(key.ret, key.generated !== 0) };
      const id = `${labels.signal}\0${labels.result}`;
      const s = by.get(id) ?? { labels, value: 0 };
      s.value += map.sumU64(k);
      by.set(id, s);
    }
    return [...by.values()];
  });
}
