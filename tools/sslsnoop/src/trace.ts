/**
 * sslsnoop's tracing, as a library: the command (main.ts) and the typed API (trace()) run this
 * same code. The kernel side is bpf/sslsnoop.bpf.c; Event, SslFunc and the skeleton are generated
 * from its BTF and header.
 */
import { attachUprobes, findUprobeFiles, parseIntArg, type CommonTraceOptions, type Counting, type EventStream, type Session, type UprobeFunction, traceEvents, type TaskRecord } from '@bpf-recipes/runtime';
import { type Program } from '@bpf-recipes/core';
import { Clock, isoTime, jsonFields, usFromNs } from '@bpf-recipes/format';
import { EVENT_SIZE, SSLSNOOP_MAX_DATA, SslFunc, SslsnoopSkel, decodeEvent, type Event } from './generated/sslsnoop.js';
import { FUNC_NAMES, HANDSHAKE, LIBRARIES, direction, type LibraryName } from './probes.js';

/**
 * The command's options that decide what is traced (`--max-buffer-size`, `--handshake`,
 * `--binary`, `--no-openssl`, `--no-gnutls`, `--no-nss`, and the common filters), typed. The
 * command's display options (--hexdump, --columns, -l, -x) have no part here: a record has it all.
 */
export interface SslsnoopOptions extends CommonTraceOptions {
  /** copy at most this many bytes of each call (default 8192, at most 16384) (`--max-buffer-size`) */
  maxBufferSize?: number | string;
  /** also SSL_do_handshake calls (`--handshake`) */
  handshake?: boolean;
  /** also OpenSSL's functions in these executables (statically linked) (`--binary`) */
  binary?: string[];
  /** not OpenSSL (`--no-openssl`) */
  noOpenssl?: boolean;
  /** not GnuTLS (`--no-gnutls`) */
  noGnutls?: boolean;
  /** not NSS (`--no-nss`) */
  noNss?: boolean;
}

/** One call, as `sslsnoop --json` prints it (comm_b64 only when the name is not UTF-8). */
export interface SslsnoopRecord extends TaskRecord {
  /** the function: SSL_read, SSL_write_ex, gnutls_record_send, PR_Read, SSL_do_handshake... */
  func: string;
  direction: 'read' | 'write' | 'handshake';
  /** plaintext bytes the call moved */
  len: number;
  /** the bytes copied (at most maxBufferSize), base64 */
  data: string;
  /** fewer bytes in `data` than `len` */
  truncated: boolean;
  /** time in the call, µs (to 0.01) */
  latency_us: number;
  /** SSL_do_handshake's return value (handshakes only) */
  ret?: number;
}

/** time in the call in µs, to 0.01 µs: the unit every tool's JSON uses for latencies */
export const funcName = (e: Event): string => FUNC_NAMES[e.func] ?? String(e.func);
/** the data a record carries after its header */
export const dataOf = (e: Event, b: Buffer, off: number): Buffer => Buffer.from(b.subarray(off + EVENT_SIZE, off + EVENT_SIZE + e.copied));

export function toRecord(e: Event, data: Buffer, clock: Clock): SslsnoopRecord {
  return {
    time: isoTime(clock.wallMs(e.ts_ns)),
    pid: e.pid,
    tid: e.tid,
    uid: e.uid,
    ...(jsonFields('comm', e.comm) as { comm: string }),
    func: funcName(e),
    direction: direction(e.func),
    len: e.len,
    data: data.toString('base64'),
    truncated: e.copied < e.len,
    latency_us: usFromNs(e.lat_ns),
    ...(e.func === HANDSHAKE ? { ret: e.ret } : {}),
  };
}

/** The entry program of a function, by where its buffer and length are. */
function entryOf(skel: SslsnoopSkel, f: SslFunc): Program {
  switch (f) {
    case SslFunc.F_SSL_read_ex: case SslFunc.F_SSL_write_ex: return skel.progs.sslsnoop_enter_ex;
    case SslFunc.F_SSL_do_handshake: return skel.progs.sslsnoop_enter_handshake;
    default: return skel.progs.sslsnoop_enter;
  }
}

/** --max-buffer-size, checked (UsageError) */
export const parseMaxBuffer = (v: number | string | undefined): number =>
  v === undefined ? 8192 : parseIntArg('max-buffer-size', v, `a number of bytes from 0 to ${SSLSNOOP_MAX_DATA}`, 0, SSLSNOOP_MAX_DATA);

/**
 * Open, configure, load and attach sslsnoop's object on a session: each library family of the
 * system (or of each --pid process, through /proc/PID/root) and the --binary files. Events wait in
 * skel.maps.events; returns the skeleton and the number of functions probed.
 */
export function setup(
  session: Session,
  o: Omit<SslsnoopOptions, keyof CommonTraceOptions>,
  /** count in the kernel for --metrics (tls_bytes); events: false sends none (the exporter) */
  counting: Counting = {},
): { skel: SslsnoopSkel; attached: number } {
  const max = parseMaxBuffer(o.maxBufferSize);
  const excluded: Record<LibraryName, boolean | undefined> = { openssl: o.noOpenssl, gnutls: o.noGnutls, nss: o.noNss };
  const files = findUprobeFiles({
    libraries: LIBRARIES.filter((l) => !excluded[l.name]),
    binaries: (o.binary ?? []).map((path) => ({ path, option: '--binary', name: 'openssl' })),
    pids: session.options.filters?.pids,
    command: session.options.command?.argv[0],
  }, (m) => session.verbose(m));
  const skel = session.open(SslsnoopSkel, new URL('../bpf/sslsnoop.bpf.o', import.meta.url), { cfg_max_data: max }, counting);
  session.loadAndAttach(skel, { attach: false });
  const probe = (f: SslFunc): UprobeFunction => ({ func: FUNC_NAMES[f], cookie: f, entry: entryOf(skel, f), ret: skel.progs.sslsnoop_return });
  const funcsOf = (library: string) => {
    const fs = LIBRARIES.find((l) => l.name === library)!.funcs;
    return [...fs, ...(library === 'openssl' && o.handshake ? [HANDSHAKE] : [])].map(probe);
  };
  const attached = attachUprobes(skel.obj, files, funcsOf, {
    verbose: (m) => session.verbose(m),
    none: 'no TLS library function could be probed (none found, or all excluded): run with -v, or give --binary PATH',
  });
  return { skel, attached: attached.length };
}

/**
 * Trace TLS reads and writes as they return: `for await (const r of trace({ pid: [1234] }))`.
 * Records hold decrypted data: handle them like the keys. Throws PreflightError/UsageError/
 * LoadError/AttachError; `break` or close() detaches.
 */
export function trace(options: SslsnoopOptions = {}): EventStream<SslsnoopRecord> {
  const clock = new Clock();
  return traceEvents('sslsnoop', options, (session) => {
    const { skel } = setup(session, options);
    return {
      ring: skel.maps.events,
      record: (b, off) => {
        const e = decodeEvent(b, off);
        return toRecord(e, dataOf(e, b, off), clock);
      },
    };
  });
}
