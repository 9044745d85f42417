/**
 * gethostlatency's tracing, as a library: the command (main.ts) and the typed API (trace()) run
 * this same code. The kernel side is bpf/gethostlatency.bpf.c; Event, GhlFunc and the skeleton are
 * generated from its BTF and header.
 */
import { attachUprobes, findUprobeFiles, parseMinLatency, type CommonTraceOptions, type Counting, type EventStream, type Session, type UprobeFunction, traceEvents, type TaskRecord } from '@bpf-recipes/runtime';
import { type Program } from '@bpf-recipes/core';
import { Clock, addrText, isoTime, jsonFields, usFromNs } from '@bpf-recipes/format';
import { EVENT_LENGTHS, EVENT_OFFSETS, GethostlatencySkel, GhlFunc, decodeEvent, type Event } from './generated/gethostlatency.js';
import { FUNCS, isAddrQuery, resultName } from './names.js';

/** The command's options (`--extended`, `--min-latency`, `--libc`, and the common filters), typed. */
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

/** time in the call in µs, to 0.01 µs: the unit every tool's JSON uses for latencies */

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

/** The record a ring-buffer record at `off` of `b` is (the object of a --json line). */
export function toRecord(e: Event, b: Buffer, off: number, clock: Clock, extended: boolean): GethostlatencyRecord {
  return {
    time: isoTime(clock.wallMs(e.ts_ns)),
    pid: e.pid,
    tid: e.tid,
    uid: e.uid,
    ...(jsonFields('comm', e.comm) as { comm: string }),
    func: funcName(e),
    latency_us: usFromNs(e.lat_ns),
    ...(jsonFields('host', hostOf(e, b, off)) as { host: string }),
    ret: e.ret,
    ret_name: resultName(e.func, e.ret, e.herrno),
    ...(extended ? { addrs: addrsOf(e) } : {}),
  };
}

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

/**
 * Open, configure, load and attach gethostlatency's object on a session: libc's functions in the
 * --libc file, else in each --pid process's own libc (through /proc/PID/root), else in the
 * system's. Events wait in skel.maps.events.
 */
export function setup(
  session: Session,
  o: Pick<GethostlatencyOptions, 'extended' | 'minLatency' | 'libc'>,
  /** count in the kernel for --metrics (lookup_metrics); events: false sends none (the exporter) */
  counting: Counting = {},
): GethostlatencySkel {
  const minNs = o.minLatency === undefined ? 0 : parseMinLatency(o.minLatency);
  // where, before anything is opened: a usage error or a missing libc leaves nothing behind
  const files = findUprobeFiles({
    ...(o.libc !== undefined
      ? { binaries: [{ path: o.libc, option: '--libc', name: 'libc' }] }
      : { libraries: [{ name: 'libc', sonames: ['libc.so.6'], required: (pid: number) => (pid > 0 ? `PID ${pid} has no libc.so.6 mapped (is it running, and dynamically linked?)` : 'no libc.so.6 found on this system: give one with --libc PATH') }] }),
    pids: session.options.filters?.pids,
    command: session.options.command?.argv[0],
  }, (m) => session.verbose(m));
  const skel = session.open(GethostlatencySkel, new URL('../bpf/gethostlatency.bpf.o', import.meta.url), {
    cfg_addrs: Boolean(o.extended),
    cfg_min_lat_ns: minNs,
  }, counting);
  session.loadAndAttach(skel, { attach: false });
  const funcs: UprobeFunction[] = FUNCS.map((func, cookie) => ({ func, cookie, entry: entryOf(skel, cookie), ret: skel.progs.gethostlatency_ret }));
  attachUprobes(skel.obj, files, () => funcs, {
    verbose: (m) => session.verbose(m),
    none: `none of ${FUNCS.join(', ')} could be probed in ${files.map((f) => f.binary).join(', ')} (run with -v)`,
  });
  return skel;
}

/**
 * Trace name lookups as they return: `for await (const r of trace({ extended: true }))`. Throws
 * PreflightError/UsageError/LoadError/AttachError; `break` or close() detaches.
 */
export function trace(options: GethostlatencyOptions = {}): EventStream<GethostlatencyRecord> {
  const clock = new Clock();
  return traceEvents('gethostlatency', options, (session) => {
    const skel = setup(session, options);
    return { ring: skel.maps.events, record: (b, off) => toRecord(decodeEvent(b, off), b, off, clock, Boolean(options.extended)) };
  });
}
