/**
 * gethostlatency, declared once: its option table, how the options become the object's config and
 * its uprobes, its record (the typed API's object and the --json line, from one list of values),
 * its table and its Prometheus series. The command (main.ts: runEventTool), trace(), the exporter's
 * entry, --help and the man page all come from here. The kernel side is bpf/gethostlatency.bpf.c
 * (uprobes on libc); Event, GhlFunc and the skeleton are generated from its BTF and header.
 */
import type { CommonArgs, EventCommand, ToolSpec } from '@bpf-recipes/cli';
import { packageVersion, parseMinLatency, setupUprobes, traceTool, type CommonTraceOptions, type EventStream, type Session, type TaskRecord } from '@bpf-recipes/runtime';
import { type Program } from '@bpf-recipes/core';
import { Clock, Columns, addrText, clockTime, isoTime, recordFormat, tableText, usFromNs } from '@bpf-recipes/format';
import type { Metrics, ToolMetrics } from '@bpf-recipes/metrics';
import { EVENT_LENGTHS, EVENT_OFFSETS, GHL_HIST_SLOTS, GethostlatencySkel, GhlFunc, decodeEvent, decodeGhlMetric, type Event } from './generated/gethostlatency.js';
import { FUNCS, isAddrQuery, resultName } from './names.js';

export const spec: ToolSpec = {
  name: 'gethostlatency',
  version: packageVersion(import.meta.url),
  summary: 'Trace name resolution through libc (getaddrinfo, gethostbyname and relatives): who resolved which host, how long it took, and the result.',
  examples: [
    ['gethostlatency', 'every lookup through the system libc'],
    ['gethostlatency -e', 'with the addresses each lookup returned'],
    ['gethostlatency --min-latency 50', 'only lookups slower than 50 ms'],
    ['gethostlatency -p 1234', 'PID 1234 only, through the libc it has mapped (a container\'s own)'],
    ['gethostlatency --libc /opt/app/lib/libc.so.6', 'probe another libc'],
  ],
  options: {
    extended: { alias: 'e', type: 'boolean', describe: 'add the resolved addresses (up to 4 per lookup)' },
    'min-latency': { type: 'string', arg: 'MS', describe: 'only lookups that took at least MS milliseconds (filtered in the kernel)' },
    libc: { alias: 'l', type: 'string', arg: 'PATH', describe: 'the libc to probe (default: the system\'s; with -p: the one each process has mapped)' },
  },
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'json', 'verbose', 'buffer-size'],
  notes:
    'Columns: TIME at return, PID, COMM, LATms (3 decimals), RET (0, an EAI_* name for getaddrinfo, or the h_errno name / ' +
    'NULL for the gethostbyname family), HOST asked for (gethostbyaddr: the address). Probes: uprobes on getaddrinfo, ' +
    'gethostbyname, gethostbyname2, gethostbyname_r, gethostbyname2_r, gethostbyaddr and gethostbyaddr_r; those a libc ' +
    'lacks are skipped.',
};

/** The command line's own options, as parsed. */
export interface GhlArgs {
  extended?: boolean;
  'min-latency'?: string;
  libc?: string;
}

/** The typed API's options (`--extended`, `--min-latency`, `--libc`, and the common filters). */
export interface GethostlatencyOptions extends CommonTraceOptions {
  /** add the resolved addresses, up to 4 per lookup (`-e`) */
  extended?: boolean;
  /** only lookups that took at least this many milliseconds, fractions allowed (`--min-latency`) */
  minLatency?: number | string;
  /** the libc to probe (`--libc`); default the system's, or with `pid` the one each process has mapped */
  libc?: string;
}

/** One lookup, as `gethostlatency --json` prints it (comm_b64/host_b64 only when not UTF-8). */
export interface GethostlatencyRecord extends TaskRecord {
  /** getaddrinfo, gethostbyname, gethostbyname2, gethostbyname_r, gethostbyname2_r, gethostbyaddr or gethostbyaddr_r */
  func: string;
  /** time in the call, µs (to 0.01) */
  latency_us: number;
  /** the name asked for (gethostbyaddr: the address) */
  host: string;
  host_b64?: string;
  /** getaddrinfo: 0 or EAI_*; *_r: 0 or an errno; the others: 0 found, -1 NULL */
  ret: number;
  /** '0', an EAI_* name, an h_errno name or 'NULL' */
  ret_name: string;
  /** with `extended`: the addresses returned, each once */
  addrs?: string[];
}

/** What HOST shows: gethostbyaddr(_r)'s address from its bytes (zeros included: the decoded string stops at the first). */
export function hostOf(e: Event, b: Buffer, off: number): string {
  if (!isAddrQuery(e.func)) return e.host;
  const at = off + EVENT_OFFSETS.host;
  return addrText(e.qfamily, b.subarray(at, at + 16));
}

/** The addresses of a lookup, each once (getaddrinfo lists an address once per socket type). */
export const addrsOf = (e: Event): string[] =>
  [...new Set(Array.from({ length: Math.min(e.naddrs, EVENT_LENGTHS.addrs) }, (_, i) => addrText(e.addrs[i].family, e.addrs[i].addr)))];

export const funcName = (e: Event): string => FUNCS[e.func] ?? String(e.func);

/** The record's fields, in order: toRecord() and `gethostlatency --json` are both made from them. */
type Values = [time: string, pid: number, tid: number, uid: number, comm: string, func: string, latency_us: number, host: string, ret: number, ret_name: string, addrs: string[] | undefined];
const RECORD = recordFormat<Values, GethostlatencyRecord>([
  ['time', 'plain'], ['pid', 'num'], ['tid', 'num'], ['uid', 'num'], ['comm', 'text'], ['func', 'plain'], ['latency_us', 'num'],
  ['host', 'text'], ['ret', 'num'], ['ret_name', 'plain'], ['addrs', 'json'],
]);

/** A lookup's values in RECORD's order (the addresses only with `extended`). */
function recordValues(e: Event, b: Buffer, off: number, clock: Clock, extended: boolean): Values {
  return [
    isoTime(clock.wallMs(e.ts_ns)), e.pid, e.tid, e.uid, e.comm, funcName(e), usFromNs(e.lat_ns),
    hostOf(e, b, off), e.ret, resultName(e.func, e.ret, e.herrno), extended ? addrsOf(e) : undefined,
  ];
}

/** The record a ring-buffer record at `off` of `b` is (the object of a --json line). */
export const toRecord = (e: Event, b: Buffer, off: number, clock: Clock, extended: boolean): GethostlatencyRecord =>
  RECORD.record(recordValues(e, b, off, clock, extended));

/** The entry program of a function, by its argument layout (the cookie tells the function apart). */
function entryOf(skel: GethostlatencySkel, f: GhlFunc): Program {
  switch (f) {
    case GhlFunc.GHL_GETADDRINFO: case GhlFunc.GHL_GETHOSTBYNAME: case GhlFunc.GHL_GETHOSTBYNAME2: return skel.progs.gethostlatency_name;
    case GhlFunc.GHL_GETHOSTBYNAME_R: return skel.progs.gethostlatency_name_r;
    case GhlFunc.GHL_GETHOSTBYNAME2_R: return skel.progs.gethostlatency_name2_r;
    case GhlFunc.GHL_GETHOSTBYADDR: return skel.progs.gethostlatency_addr;
    case GhlFunc.GHL_GETHOSTBYADDR_R: return skel.progs.gethostlatency_addr_r;
  }
}

/** What setup() hands back: the object, and whether records carry the addresses. */
export interface GhlHandle {
  skel: GethostlatencySkel;
  extended: boolean;
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

/**
 * Its Prometheus series (libs/metrics/README.md), for `gethostlatency --metrics` and the exporter:
 * the return probe adds each lookup to this CPU's totals for its function in lookup_metrics (count,
 * exact sum, log2 µs slots), after --min-latency and the common filters; a scrape sums the CPUs.
 */
export function register(m: Metrics, skel: GethostlatencySkel): void {
  // slots of whole µs (ns / 1000): bucket bounds 2^k µs - 1 ns; _count is the number of lookups
  m.log2Histogram('name_lookup_duration_seconds', 'time in libc\'s name lookups (getaddrinfo, gethostbyname and relatives), by function', { unit: 1e-6, resolution: 1e-9 }, () =>
    lookupTotals(skel).map((t) => ({ labels: { func: t.func }, slots: t.slots, sum: t.lat_ns / 1e9 })));
}

export const tool: EventCommand<GhlArgs, GethostlatencyOptions, GhlHandle, Values, GethostlatencyRecord> = {
  name: 'gethostlatency',
  spec,
  options: (a) => ({ extended: a.extended, minLatency: a['min-latency'], libc: a.libc }),
  /** libc's functions in the --libc file, else in each --pid process's own libc (through /proc/PID/root), else in the system's */
  setup(session, o, counting = {}) {
    const minNs = o.minLatency === undefined ? 0 : parseMinLatency(o.minLatency);
    const { skel } = setupUprobes(
      session,
      o.libc !== undefined
        ? { binaries: [{ path: o.libc, option: '--libc', name: 'libc' }] }
        : { libraries: [{ name: 'libc', sonames: ['libc.so.6'], required: (pid: number) => (pid > 0 ? `PID ${pid} has no libc.so.6 mapped (is it running, and dynamically linked?)` : 'no libc.so.6 found on this system: give one with --libc PATH') }] },
      () => session.open(GethostlatencySkel, new URL('../bpf/gethostlatency.bpf.o', import.meta.url), { cfg_addrs: Boolean(o.extended), cfg_min_lat_ns: minNs }, counting),
      (s) => FUNCS.map((func, cookie) => ({ func, cookie, entry: entryOf(s, cookie), ret: s.progs.gethostlatency_ret })),
      (files) => `none of ${FUNCS.join(', ')} could be probed in ${files.map((f) => f.binary).join(', ')} (run with -v)`,
    );
    return { skel, extended: Boolean(o.extended) };
  },
  ring: (h) => h.skel.maps.events,
  record: RECORD,
  values: (h, clock) => (b, off) => recordValues(decodeEvent(b, off), b, off, clock, h.extended),
  text(h, _a: GhlArgs & CommonArgs, ctx) {
    const x = h.extended;
    const cols = new Columns([
      { name: 'TIME', width: 12 },
      { name: 'PID', width: 7, align: 'right' },
      { name: 'COMM', width: 16 },
      { name: 'LATms', width: 10, align: 'right' },
      { name: 'RET', width: 14 },
      { name: 'HOST', width: x ? 30 : 0 },
      ...(x ? [{ name: 'ADDRS', width: 0 }] : []),
    ]);
    const row = (e: Event, b: Buffer, off: number): string => cols.row([
      clockTime(ctx.clock.wallMs(e.ts_ns)), e.pid, tableText(e.comm), (e.lat_ns / 1e6).toFixed(3), resultName(e.func, e.ret, e.herrno),
      tableText(hostOf(e, b, off)), ...(x ? [addrsOf(e).join(',')] : []),
    ]);
    return { header: cols.header(), line: (b, off) => row(decodeEvent(b, off), b, off) };
  },
  ready: () => 'Tracing getaddrinfo/gethostbyname calls... Hit Ctrl-C to end.',
  register: (m, h) => register(m, h.skel),
};

/** The exporter's options for gethostlatency (its config file), named as the command's options. */
export interface GethostlatencyMetricsOptions {
  /** --libc: the libc to probe (default the system's) */
  libc?: string;
}

/** The exporter's typed entry (`@bpf-recipes/gethostlatency/metrics`): the probes counting into lookup_metrics, no event sent. */
export const metrics: ToolMetrics<Session, GethostlatencyMetricsOptions, GethostlatencySkel> = {
  options: { libc: 'string' },
  open: (session, o) => tool.setup(session, { libc: o.libc }, { metrics: true, events: false }).skel,
  register,
};

/**
 * Trace name lookups as they return: `for await (const r of trace({ extended: true }))`. Throws
 * PreflightError/UsageError/LoadError/AttachError; `break` or close() detaches.
 */
export const trace = (options: GethostlatencyOptions = {}): EventStream<GethostlatencyRecord> => traceTool(tool, options, new Clock());
