/**
 * udplife's Prometheus series (the per-tool metrics contract, libs/metrics/README.md): register()
 * for `udplife --metrics` and the exporter, open() for the exporter. Counted in the kernel: when a
 * socket is released (after udplife's filters, next to the ring buffer's event) the release
 * program adds its lifetime and bytes to this CPU's totals for its family in sock_metrics; a
 * scrape sums the CPUs. Nothing per event in user space.
 */
import type { Session } from '@bpf-recipes/runtime';
import type { ToolMetrics, Metrics } from '@bpf-recipes/metrics';
import { UDPLIFE_HIST_SLOTS, decodeSockMetric } from './generated/udplife.js';
import { setup, type UdplifeSetup } from './trace.js';

/** The exporter's options for udplife (its config file), named as the command's options. */
export interface UdplifeMetricsOptions {
  /** IPv4 sockets only */
  ipv4?: boolean;
  /** IPv6 sockets only */
  ipv6?: boolean;
  /** only sockets on these local ports, comma-separated */
  localport?: string;
  /** only sockets whose (last) peer port is one of these, comma-separated */
  remoteport?: string;
}

/** The exporter: udplife's programs counting into sock_metrics, no event sent (cfg_events off). */
export function open(session: Session, o: UdplifeMetricsOptions): Pick<UdplifeSetup, 'skel' | 'counted'> {
  return setup(session, { ipv4: o.ipv4, ipv6: o.ipv6, localport: o.localport?.split(','), remoteport: o.remoteport?.split(',') }, { metrics: true, events: false });
}

const FAMILIES = ['ipv4', 'ipv6'] as const;

export function register(m: Metrics, h: Pick<UdplifeSetup, 'skel' | 'counted'>): void {
  const map = h.skel.maps.sock_metrics;
  const read = () =>
    FAMILIES.map((family, i) => {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(i);
      const t = { family, count: 0, lifetime_ns: 0, tx: 0, rx: 0, slots: new Array<number>(UDPLIFE_HIST_SLOTS).fill(0) };
      for (const v of map.lookupPerCpu(key)) {
        const c = decodeSockMetric(v, 0);
        t.count += c.count;
        t.lifetime_ns += c.lifetime_ns;
        t.tx += c.tx_bytes;
        t.rx += c.rx_bytes;
        c.slots.forEach((n, j) => (t.slots[j] += n));
      }
      return t;
    }).filter((t) => t.count > 0);
  // slots of whole µs (ns / 1000): bucket bounds 2^k µs - 1 ns; the last slot (past ~36 min) is +Inf
  m.log2Histogram('udp_socket_lifetime_seconds', 'lifetime of UDP sockets, creation to release, by family (udplife\'s filters applied)', { unit: 1e-6, resolution: 1e-9 }, () =>
    read().map((t) => ({ labels: { family: t.family }, slots: t.slots, sum: t.lifetime_ns / 1e9 })));
  // a kernel that gives no per-socket bytes (the source "none") serves no bytes series rather than zeros
  if (!h.counted) return;
  m.counter('udp_socket_bytes_total', 'payload bytes of released UDP sockets, by family and direction (tx sent, rx received)', () =>
    read().flatMap((t) => [
      { labels: { family: t.family, direction: 'tx' }, value: t.tx },
      { labels: { family: t.family, direction: 'rx' }, value: t.rx },
    ]));
}

/** The exporter's typed entry (`@bpf-recipes/udplife/metrics`): the config's options, open(), register(). */
export const metrics: ToolMetrics<Session, UdplifeMetricsOptions, Pick<UdplifeSetup, 'skel' | 'counted'>> = { options: { ipv4: 'boolean', ipv6: 'boolean', localport: 'string', remoteport: 'string' }, open, register };
