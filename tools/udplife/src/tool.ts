/**
 * udplife, declared once: its option table, how the options become the object's config (from the
 * best source of bytes this kernel has), its record (the typed API's object and the --json line,
 * from one list of values), its table and its Prometheus series. The command (main.ts:
 * runEventTool), trace(), the exporter's entry, --help and the man page all come from here. The
 * kernel side is bpf/udplife.bpf.c (cgroup socket hooks + tracepoints, no kprobes); Event,
 * UDPLIFE_MAX_PEERS and the skeleton are generated from its BTF and header.
 */
import type { CommonArgs, EventCommand, ToolSpec } from '@bpf-recipes/cli';
import { cgroup2Mount, packageVersion, parseIntArg, traceTool, type CommonTraceOptions, type Counting, type EventStream, type Session, type TaskRecord } from '@bpf-recipes/runtime';
import { PreflightError, UsageError, rawTracepointExists, type Program } from '@bpf-recipes/core';
import { AF_INET, AF_INET6, Clock, Columns, addrText, clockTime, isoTime, recordFormat, tableText, usFromNs } from '@bpf-recipes/format';
import type { Metrics, ToolMetrics } from '@bpf-recipes/metrics';
import { UDPLIFE_HIST_SLOTS, UDPLIFE_MAX_PEERS, UdplifeSkel, decodeEvent, decodeSockMetric, type Event } from './generated/udplife.js';

export const spec: ToolSpec = {
  name: 'udplife',
  version: packageVersion(import.meta.url),
  summary: 'Trace the life of UDP sockets: who opened each one, its addresses and ports, bytes and datagrams each way, and how long it lived — one line when it closes.',
  examples: [
    ['udplife', 'every UDP socket, when it closes (or its process exits)'],
    ['udplife -T -w', 'with wall-clock time and room for IPv6 addresses'],
    ['udplife -D 53', 'sockets that talked to port 53 (DNS clients)'],
    ['udplife -L 5353,123 -4', 'IPv4 sockets on local ports 5353 or 123'],
    ['udplife --json -p 1234', 'NDJSON for PID 1234'],
  ],
  options: {
    wide: { alias: 'w', type: 'boolean', describe: 'wide address columns (for IPv6)' },
    localport: { alias: 'L', type: 'string', arg: 'PORT[,PORT...]', describe: 'only sockets on these local ports (up to 8)' },
    remoteport: { alias: 'D', type: 'string', arg: 'PORT[,PORT...]', describe: 'only sockets whose (last) peer port is one of these (up to 8)' },
    ipv4: { alias: '4', type: 'boolean', describe: 'IPv4 sockets only' },
    ipv6: { alias: '6', type: 'boolean', describe: 'IPv6 sockets only' },
  },
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'timestamp', 'json', 'verbose', 'buffer-size'],
  notes:
    'Columns: PID and COMM of the process that created the socket, LADDR LPORT local, RADDR RPORT the connected peer or, for ' +
    'an unconnected socket, the last peer it sent to or received from (PEERS counts distinct ones, "8+" past 8), TX_B RX_B ' +
    'payload bytes, MS the lifetime. A socket is reported when it is released: closed, or its last holder exited. Before Linux ' +
    '6.3 bytes and peers come from the cgroup skb hooks (-v says which source is used); a kernel that gives none prints -.',
};

/** The command line's own options, as parsed. */
export interface UdplifeArgs {
  wide?: boolean;
  localport?: string;
  remoteport?: string;
  ipv4?: boolean;
  ipv6?: boolean;
}

/** The typed API's options (`-4`, `-6`, `--localport`, `--remoteport` and the common filters). */
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
export interface UdplifeRecord extends Omit<TaskRecord, 'tid'> {
  /** ISO 8601, ms: when the socket was released (pid, uid, comm: the creator's) */
  time: string;
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

/** What setup() takes: the typed API's options, ports as numbers or as the command line's text. */
export type UdplifeSetupOptions = Omit<UdplifeOptions, 'localport' | 'remoteport'> & { localport?: readonly (number | string)[]; remoteport?: readonly (number | string)[] };

/**
 * Open, configure, load and attach udplife's object (ports as numbers, or as the command line's text) on a session, from the best source this
 * kernel has down (a source that fails leaves nothing attached); events wait in skel.maps.events.
 * `counting.metrics`: count in sock_metrics too (--metrics); `counting.events: false`: send no event (the exporter).
 */
function setup(session: Session, o: UdplifeSetupOptions, counting: Counting = {}): UdplifeSetup {
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

/** The record's fields, in order: toRecord() and `udplife --json` are both made from them. */
type Values = [
  time: string, pid: number, uid: number, comm: string, family: UdplifeRecord['family'], laddr: string, lport: number, raddr: string | null, rport: number | null,
  connected: boolean, peers: number | null, peers_more: boolean | null, tx_bytes: number | null, rx_bytes: number | null, tx_packets: number | null, rx_packets: number | null, duration_us: number,
];
const RECORD = recordFormat<Values, UdplifeRecord>([
  ['time', 'plain'], ['pid', 'num'], ['uid', 'num'], ['comm', 'text'], ['family', 'plain'], ['laddr', 'plain'], ['lport', 'num'], ['raddr', 'plain'], ['rport', 'num'],
  ['connected', 'num'], ['peers', 'num'], ['peers_more', 'num'], ['tx_bytes', 'num'], ['rx_bytes', 'num'], ['tx_packets', 'num'], ['rx_packets', 'num'], ['duration_us', 'num'],
]);

/** A socket's values in RECORD's order (bytes, datagrams and unconnected peers null when the kernel gives none). */
function recordValues(e: Event, clock: Clock, counted: boolean): Values {
  const n = (v: number) => (counted ? v : null);
  const known = peersKnown(e, counted);
  return [
    isoTime(clock.wallMs(e.ts_ns)), e.pid, e.uid, e.comm, e.family === AF_INET6 ? 'ipv6' : 'ipv4', addrText(e.family, e.laddr), e.lport, raddrOf(e), e.rport || null,
    Boolean(e.connected), known ? Math.min(e.peers, UDPLIFE_MAX_PEERS) : null, known ? e.peers > UDPLIFE_MAX_PEERS : null,
    n(e.tx_bytes), n(e.rx_bytes), n(e.tx_packets), n(e.rx_packets), usFromNs(e.ts_ns - e.start_ns),
  ];
}

/** One socket as the typed API yields it (the object of `udplife --json`'s line). */
export const toRecord = (e: Event, clock: Clock, counted: boolean): UdplifeRecord => RECORD.record(recordValues(e, clock, counted));

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

const FAMILIES = ['ipv4', 'ipv6'] as const;

/**
 * Its Prometheus series (libs/metrics/README.md), for `udplife --metrics` and the exporter: when a
 * socket is released (after udplife's filters) the release program adds its lifetime and bytes to
 * this CPU's totals for its family in sock_metrics; a scrape sums the CPUs.
 */
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

const list = (v: string | undefined) => v?.split(',');

export const tool: EventCommand<UdplifeArgs, UdplifeSetupOptions, UdplifeSetup, Values, UdplifeRecord> = {
  name: 'udplife',
  spec,
  options: (a) => ({ ipv4: a.ipv4, ipv6: a.ipv6, localport: list(a.localport), remoteport: list(a.remoteport) }),
  setup,
  ring: (h) => h.skel.maps.events,
  record: RECORD,
  values: (h, clock) => (b, off) => recordValues(decodeEvent(b, off), clock, h.counted),
  text({ counted }, a: UdplifeArgs & CommonArgs, ctx) {
    const w = a.wide ? 39 : 15;
    const cols = new Columns([
      ...(a.timestamp ? [{ name: 'TIME', width: 12 }] : []),
      { name: 'PID', width: 7, align: 'right' as const },
      { name: 'COMM', width: 16 },
      { name: 'LADDR', width: w },
      { name: 'LPORT', width: 5, align: 'right' as const },
      { name: 'RADDR', width: w },
      { name: 'RPORT', width: 5, align: 'right' as const },
      { name: 'PEERS', width: 5, align: 'right' as const },
      { name: 'TX_B', width: 10, align: 'right' as const },
      { name: 'RX_B', width: 10, align: 'right' as const },
      { name: 'MS', width: 0 },
    ]);
    const n = (v: number) => (counted ? v : '-');
    const row = (e: Event): string => cols.row([
      ...(a.timestamp ? [clockTime(ctx.clock.wallMs(e.ts_ns))] : []), e.pid, tableText(e.comm), addrText(e.family, e.laddr), e.lport,
      raddrOf(e) ?? '-', e.rport || '-', peersText(e, counted), n(e.tx_bytes), n(e.rx_bytes), ((e.ts_ns - e.start_ns) / 1e6).toFixed(2),
    ]);
    return { header: cols.header(), line: (b, off) => row(decodeEvent(b, off)) };
  },
  ready: () => 'Tracing UDP sockets (one line when each closes)... Hit Ctrl-C to end.',
  register,
};

/** The exporter's typed entry (`@bpf-recipes/udplife/metrics`): udplife's programs counting into sock_metrics, no event sent (cfg_events off). */
export const metrics: ToolMetrics<Session, UdplifeMetricsOptions, Pick<UdplifeSetup, 'skel' | 'counted'>> = {
  options: { ipv4: 'boolean', ipv6: 'boolean', localport: 'string', remoteport: 'string' },
  open: (session, o) => setup(session, tool.options(o), { metrics: true, events: false }),
  register,
};

/**
 * Trace UDP sockets, one record when each is released: `for await (const s of trace({ remoteport: [53] }))`.
 * Throws PreflightError/UsageError/LoadError/AttachError; `break` or close() detaches.
 */
export const trace = (options: UdplifeOptions = {}): EventStream<UdplifeRecord> => traceTool(tool, options, new Clock());
