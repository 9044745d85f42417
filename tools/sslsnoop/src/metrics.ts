/**
 * sslsnoop's Prometheus series (the per-tool metrics contract, libs/metrics/README.md): register()
 * for `sslsnoop --metrics` and the exporter, open() for the exporter. The return probe adds the
 * plaintext bytes each call moved to this CPU's total for its function in tls_bytes, after the
 * filters, next to the ring buffer's record; a scrape sums the CPUs and groups the functions by
 * library and direction. Nothing per event in user space.
 */
import type { Session } from '@bpf-recipes/runtime';
import type { ToolMetrics, Metrics } from '@bpf-recipes/metrics';
import { type SslsnoopSkel } from './generated/sslsnoop.js';
import { FUNC_IDS, HANDSHAKE, LIBRARIES, isWrite, libraryOf } from './probes.js';
import { setup } from './trace.js';

/** The exporter's options for sslsnoop (its config file), named as the command's options. */
export interface SslsnoopMetricsOptions {
  'no-openssl'?: boolean;
  'no-gnutls'?: boolean;
  'no-nss'?: boolean;
}

/** The exporter: sslsnoop's probes counting into tls_bytes, no record sent (no plaintext leaves the kernel). */
export function open(session: Session, o: SslsnoopMetricsOptions): SslsnoopSkel {
  return setup(session, { noOpenssl: o['no-openssl'], noGnutls: o['no-gnutls'], noNss: o['no-nss'] }, { metrics: true, events: false }).skel;
}

/** Plaintext bytes by library and direction, summed over the functions and the CPUs. */
export function tlsBytes(skel: SslsnoopSkel): { library: string; direction: 'read' | 'write'; bytes: number }[] {
  const totals = new Map<string, { library: string; direction: 'read' | 'write'; bytes: number }>();
  for (const l of LIBRARIES) for (const direction of ['read', 'write'] as const) totals.set(`${l.name} ${direction}`, { library: l.name, direction, bytes: 0 });
  const key = Buffer.alloc(4);
  for (const f of FUNC_IDS) {
    if (f === HANDSHAKE) continue; // moves no data
    key.writeUInt32LE(f);
    const t = totals.get(`${libraryOf(f)} ${isWrite(f) ? 'write' : 'read'}`)!;
    for (const v of skel.maps.tls_bytes.lookupPerCpu(key)) t.bytes += Number(v.readBigUInt64LE(0));
  }
  return [...totals.values()];
}

export function register(m: Metrics, skel: SslsnoopSkel): void {
  m.counter('tls_bytes_total', 'plaintext bytes moved through TLS libraries\' read and write functions, by library and direction', () =>
    tlsBytes(skel).map((t) => ({ labels: { library: t.library, direction: t.direction }, value: t.bytes })));
}

/** The exporter's typed entry (`@bpf-recipes/sslsnoop/metrics`): the config's options, open(), register(). */
export const metrics: ToolMetrics<Session, SslsnoopMetricsOptions, SslsnoopSkel> = { options: { 'no-openssl': 'boolean', 'no-gnutls': 'boolean', 'no-nss': 'boolean' }, open, register };
