/**
 * udplife's tracing, as a library: the command (main.ts) and the typed API (trace()) run this same
 * code. The kernel side is bpf/udplife.bpf.c (cgroup socket hooks + tracepoints, no kprobes);
 * Event, UDPLIFE_MAX_PEERS and the skeleton are generated from its BTF and header.
 */
import { cgroup2Mount, parseIntArg, type CommonTraceOptions, type Counting, type EventStream, type Session, traceEvents } from '@bpf-recipes/runtime';
import { PreflightError, UsageError, rawTracepointExists, type Program } from '@bpf-recipes/core';
import { AF_INET, AF_INET6, Clock, addrText, isoTime, jsonFields, usFromNs } from '@bpf-recipes/format';
import { UDPLIFE_MAX_PEERS, UdplifeSkel, decodeEvent, type Event } from './generated/udplife.js';

/** The command's options (`-4`, `-6`, `--localport`, `--remoteport` and the common filters), typed. */
export interface UdplifeOptions extends CommonTraceOptions {
  /** IPv4 sockets only (`-4`) */
  ipv4?: boolean;
  /** IPv6 sockets only (`-6`) */
  ipv6?: boolean;
  /** only sockets on these local ports, up to 8 (`-L`) */
  localport?: number[];
  /** only sockets whose (last) peer port is one of these, up to 8 (`-D`) */
  remoteport?: number[];
}

/** One UDP socket at its end, as `udplife --json` prints it (comm_b64 only when not UTF-8). */
export interface UdplifeRecord {
  /** ISO 8601, ms: when the socket was released */
  time: string;
  /** the creator */
  pid: number;
  uid: number;
  comm: string;
  comm_b64?: string;
  family: 'ipv4' | 'ipv6';
  laddr: string;
  lport: number;
  /** the connected peer, else the last one sent to or received from; null when none */
  raddr: string | null;
  rport: number | null;
  connected: boolean;
  /** distinct peers, at most 8 (peers_more: more than that); null when this kernel does not say */
  peers: number | null;
  peers_more: boolean | null;
  /** payload bytes and datagrams; null when this kernel gives no per-socket counts */
  tx_bytes: number | null;
  rx_bytes: number | null;
  tx_packets: number | null;
  rx_packets: number | null;
  /** the socket's lifetime, µs (to 0.01 µs) */
  duration_us: number;
}

/**
 * Where bytes, datagrams and peers come from, best first; chosen at load time:
 * - tracepoints: sock:sock_send_length/sock_recv_length (6.3+), what each call sent or received;
 *   peers of unconnected sockets from the send/recv syscalls' addresses
 * - skb: the cgroup skb hooks on the root cgroup, each packet's payload and its IP/UDP headers
 * - none: lifetimes and addresses only; bytes, datagrams and unconnected peers print as -
 * BPF_RECIPES_UDPLIFE_SOURCE=skb|none starts lower down the list (to test a fallback on a new kernel).
 */
export const SOURCES = ['tracepoints', 'skb', 'none'] as const;
export type Source = (typeof SOURCES)[number];
const SOURCE_TEXT: Record<Source, string> = {
  tracepoints: 'bytes from the sock:sock_send_length/sock_recv_length tracepoints, peers from the send/recv syscalls',
  skb: 'bytes and peers from the cgroup skb hooks (each packet\'s UDP payload and headers)',
  none: 'no bytes or peers',
};
/** the programs each source loads */
function programsOf(p: UdplifeSkel['progs'], source: Source): Program[] {
  const cgroup = [p.udplife_create, p.udplife_release];
  const skb = [p.udplife_egress, p.udplife_ingress];
  // udplife's own programs only: the traced-command set (recipes_traced_*) is the session's to load
  if (source === 'tracepoints') return Object.values(p).filter((x) => x.name.startsWith('udplife_') && !skb.includes(x));
  return source === 'skb' ? [...cgroup, ...skb] : cgroup;
}

function ports(opt: string, v: readonly (number | string)[] | undefined): number[] {
  if (v === undefined) return [];
  const list = v.map((s) => String(s).trim()).filter(Boolean).map((p) => parseIntArg(opt, p, 'a port (1-65535)', 1, 65535));
  if (list.length === 0 || list.length > 8) throw new UsageError(`--${opt}: give 1 to 8 ports, e.g. 53,5353`);
  return list;
}

export interface UdplifeSetup {
  skel: UdplifeSkel;
  source: Source;
  /** bytes, datagrams and unconnected peers are known (false: the kernel gives none) */
  counted: boolean;
}

/**
 * Open, configure, load and attach udplife's object (ports as numbers, or as the command line's text) on a session, from the best source this
 * kernel has down (a source that fails leaves nothing attached); events wait in skel.maps.events.
 * `counting.metrics`: count in sock_metrics too (--metrics); `counting.events: false`: send no event (the exporter).
 */
export function setup(
  session: Session,
  o: Pick<UdplifeOptions, 'ipv4' | 'ipv6'> & { localport?: readonly (number | string)[]; remoteport?: readonly (number | string)[] },
  counting: Counting = {},
): UdplifeSetup {
  if (o.ipv4 && o.ipv6) throw new UsageError('-4 and -6 exclude each other (give neither for both)');
  const lports = ports('localport', o.localport);
  const rports = ports('remoteport', o.remoteport);
  const root = cgroup2Mount();
  if (!root) throw new PreflightError('udplife needs a cgroup v2 hierarchy for its socket hooks (mount -t cgroup2 none /sys/fs/cgroup)');
  const config = {
    cfg_family: o.ipv4 ? AF_INET : o.ipv6 ? AF_INET6 : 0,
    cfg_lports: lports,
    cfg_nlports: lports.length,
    cfg_rports: rports,
    cfg_nrports: rports.length,
  };
  const load = (source: Source): UdplifeSkel => {
    const skel = session.open(UdplifeSkel, new URL('../bpf/udplife.bpf.o', import.meta.url), config, counting);
    const { progs } = skel;
    try {
      const wanted = programsOf(progs, source);
      for (const p of Object.values(progs)) if (p.name.startsWith('udplife_')) skel.obj.setAutoload(p.name, wanted.includes(p));
      session.loadAndAttach(skel);
      const cgroupProgs = [progs.udplife_create, progs.udplife_release, progs.udplife_egress, progs.udplife_ingress];
      for (const p of wanted) if (cgroupProgs.includes(p)) skel.obj.attachCgroup(p.name, root);
      return skel;
    } catch (e) {
      skel.close(); // nothing of a failed source stays attached
      throw e;
    }
  };
  const forced = process.env.BPF_RECIPES_UDPLIFE_SOURCE || undefined;
  if (forced !== undefined && !(SOURCES as readonly string[]).includes(forced)) {
    throw new UsageError(`BPF_RECIPES_UDPLIFE_SOURCE=${forced}: give one of ${SOURCES.join(', ')}`);
  }
  let candidates: Source[] = [...SOURCES.slice(SOURCES.indexOf((forced as Source | undefined) ?? 'tracepoints'))];
  const why: string[] = [];
  if (candidates[0] === 'tracepoints' && !(rawTracepointExists('sock_send_length') && rawTracepointExists('sock_recv_length'))) {
    why.push('no sock:sock_send_length/sock_recv_length tracepoints (Linux 6.3+)');
    candidates = candidates.slice(1);
  }
  let skel: UdplifeSkel | undefined;
  let source: Source = 'none';
  for (const c of candidates) {
    try {
      skel = load(c);
      source = c;
      break;
    } catch (e) {
      if (c === 'none') throw e;
      const msg = (e as Error).message.split('\n')[0];
      why.push(`${c === 'skb' ? 'cgroup skb hooks' : 'send/recv length tracepoints'}: ${msg}`);
      session.verbose(`cannot use the ${c} source (${msg}); trying the next`);
    }
  }
  session.verbose(`socket hooks on the cgroup v2 root ${root}; ${SOURCE_TEXT[source]}${why.length ? ` (${why.join('; ')})` : ''}`);
  // a kernel that gives no bytes: say so once, and print - rather than a 0 that would be a lie
  const counted = source !== 'none';
  if (!counted) session.note(`udplife: this kernel gives no per-socket bytes (${why.join('; ') || 'BPF_RECIPES_UDPLIFE_SOURCE=none'}): TX_B, RX_B and unconnected PEERS show -`);
  return { skel: skel!, source, counted };
}

/** the peer count is known: every source counts a connected socket's; unconnected ones need bytes */
export const peersKnown = (e: Event, counted: boolean) => counted || Boolean(e.connected);
/** the kernel keeps UDPLIFE_MAX_PEERS distinct peers and says UDPLIFE_MAX_PEERS + 1 for more */
export const peersText = (e: Event, counted: boolean) => (!peersKnown(e, counted) ? '-' : e.peers > UDPLIFE_MAX_PEERS ? `${UDPLIFE_MAX_PEERS}+` : String(e.peers));
/** the peer's address, or null when the socket had none */
export const raddrOf = (e: Event): string | null => (e.rport || e.connected ? addrText(e.family, e.raddr) : null);

export function toRecord(e: Event, clock: Clock, counted: boolean): UdplifeRecord {
  const n = (v: number) => (counted ? v : null);
  const known = peersKnown(e, counted);
  return {
    time: isoTime(clock.wallMs(e.ts_ns)),
    pid: e.pid,
    uid: e.uid,
    ...(jsonFields('comm', e.comm) as { comm: string }),
    family: e.family === AF_INET6 ? 'ipv6' : 'ipv4',
    laddr: addrText(e.family, e.laddr),
    lport: e.lport,
    raddr: raddrOf(e),
    rport: e.rport || null,
    connected: Boolean(e.connected),
    peers: known ? Math.min(e.peers, UDPLIFE_MAX_PEERS) : null,
    peers_more: known ? e.peers > UDPLIFE_MAX_PEERS : null,
    tx_bytes: n(e.tx_bytes),
    rx_bytes: n(e.rx_bytes),
    tx_packets: n(e.tx_packets),
    rx_packets: n(e.rx_packets),
    duration_us: usFromNs(e.ts_ns - e.start_ns),
  };
}

/**
 * Trace UDP sockets, one record when each is released: `for await (const s of trace({ remoteport: [53] }))`.
 * Throws PreflightError/UsageError/LoadError/AttachError; `break` or close() detaches.
 */
export function trace(options: UdplifeOptions = {}): EventStream<UdplifeRecord> {
  const clock = new Clock();
  return traceEvents('udplife', options, (session) => {
    const { skel, counted } = setup(session, options);
    return { ring: skel.maps.events, record: (b, off) => toRecord(decodeEvent(b, off), clock, counted) };
  });
}
