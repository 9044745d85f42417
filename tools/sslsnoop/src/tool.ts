/**
 * sslsnoop, declared once: its option table, how the options become the object's config and its
 * uprobes, its record (the typed API's object and the --json line, from one list of values), its
 * blocks and columns, and its Prometheus series. The command (main.ts: runEventTool), trace(), the
 * exporter's entry, --help and the man page all come from here. The kernel side is
 * bpf/sslsnoop.bpf.c (uprobes on TLS libraries); Event, SslFunc and the skeleton are generated
 * from its BTF and header.
 */
import type { CommonArgs, EventCommand, ToolSpec } from '@bpf-recipes/cli';
import { packageVersion, parseIntArg, setupUprobes, traceTool, type CommonTraceOptions, type EventStream, type Session, type TaskRecord, type UprobeFunction } from '@bpf-recipes/runtime';
import { decodeText, type Program } from '@bpf-recipes/core';
import { Clock, Columns, blockText, clockTime, isoTime, recordFormat, tableText, usFromNs } from '@bpf-recipes/format';
import type { Metrics, ToolMetrics } from '@bpf-recipes/metrics';
import { EVENT_SIZE, SSLSNOOP_MAX_DATA, SslFunc, SslsnoopSkel, decodeEvent, type Event } from './generated/sslsnoop.js';
import { FUNC_IDS, FUNC_NAMES, HANDSHAKE, LIBRARIES, direction, isWrite, libraryOf, type LibraryName } from './probes.js';
import { blockHead, hexdump, printable } from './render.js';

export const spec: ToolSpec = {
  name: 'sslsnoop',
  version: packageVersion(import.meta.url),
  summary: 'Show the plaintext of TLS traffic at the library boundary (OpenSSL, GnuTLS, NSS) — what a program writes before encryption and reads after decryption.',
  examples: [
    ['sslsnoop', 'every TLS read and write of the system\'s OpenSSL, GnuTLS and NSS'],
    ['sslsnoop -p 1234 --hexdump', 'PID 1234 only (through the libraries it has mapped), as a hex dump'],
    ['sslsnoop --binary /usr/bin/node', 'also a program that links OpenSSL statically'],
    ['sslsnoop -l --handshake', 'with the time each call took, and the handshakes'],
    ['sslsnoop --columns', 'one line per call, no data'],
    ['sslsnoop -x -o -g', 'with UID and TID; NSS only (no OpenSSL, no GnuTLS)'],
    ['sslsnoop --json | jq -r .data | base64 -d', 'NDJSON with base64 data'],
  ],
  options: {
    hexdump: { type: 'boolean', describe: 'show data as a hex dump (offset, hex bytes, ASCII)' },
    'max-buffer-size': { type: 'string', arg: 'BYTES', describe: 'copy at most BYTES of each call (default 8192, at most 16384); more is marked as truncated' },
    latency: { alias: 'l', type: 'boolean', describe: 'add the time each call took' },
    handshake: { type: 'boolean', describe: 'also show SSL_do_handshake calls (result and time)' },
    columns: { type: 'boolean', describe: 'one line per call: FUNC TIME COMM PID LEN, no data' },
    extra: { alias: 'x', type: 'boolean', describe: 'also show the UID and TID of each call (uid= tid= in blocks, UID TID columns)' },
    binary: { type: 'string', array: true, arg: 'PATH', describe: 'also probe OpenSSL functions in this executable (statically linked, e.g. node); repeatable' },
    'no-openssl': { alias: 'o', type: 'boolean', describe: 'do not probe OpenSSL (libssl)' },
    'no-gnutls': { alias: 'g', type: 'boolean', describe: 'do not probe GnuTLS (libgnutls)' },
    'no-nss': { type: 'boolean', describe: 'do not probe NSS (libnspr4 PR_Read/PR_Write/PR_Recv/PR_Send)' },
  },
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'timestamp', 'json', 'verbose', 'buffer-size'],
  notes:
    'Blocks: "===== > pid=P comm=C len=N" for a write (">") or read ("<"), then the data. Data is what the call moved: ' +
    'the return of SSL_read/SSL_write, *readbytes/*written of the _ex calls. The output holds decrypted secrets: ' +
    'treat it as you would the keys. With -p the libraries are found in the process\'s own maps (containers included).',
};

/** The command line's own options, as parsed. */
export interface SslArgs {
  hexdump?: boolean;
  'max-buffer-size'?: string;
  latency?: boolean;
  handshake?: boolean;
  columns?: boolean;
  extra?: boolean;
  binary?: string[];
  'no-openssl'?: boolean;
  'no-gnutls'?: boolean;
  'no-nss'?: boolean;
}

/**
 * The typed API's options: what decides what is traced (`--max-buffer-size`, `--handshake`,
 * `--binary`, `--no-openssl`, `--no-gnutls`, `--no-nss`, and the common filters). The command's
 * display options (--hexdump, --columns, -l, -x) have no part here: a record has it all.
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

export const funcName = (e: Event): string => FUNC_NAMES[e.func] ?? String(e.func);
/** the data a record carries after its header */
export const dataOf = (e: Event, b: Buffer, off: number): Buffer => Buffer.from(b.subarray(off + EVENT_SIZE, off + EVENT_SIZE + e.copied));

/** The record's fields, in order: toRecord() and `sslsnoop --json` are both made from them. */
type Values = [time: string, pid: number, tid: number, uid: number, comm: string, func: string, direction: SslsnoopRecord['direction'], len: number, data: string, truncated: boolean, latency_us: number, ret: number | undefined];
const RECORD = recordFormat<Values, SslsnoopRecord>([
  ['time', 'plain'], ['pid', 'num'], ['tid', 'num'], ['uid', 'num'], ['comm', 'text'], ['func', 'plain'], ['direction', 'plain'],
  ['len', 'num'], ['data', 'plain'], ['truncated', 'num'], ['latency_us', 'num'], ['ret', 'json'],
]);

/** A call's values in RECORD's order (base64 is plain JSON text; `ret` only for a handshake). */
function recordValues(e: Event, data: Buffer, clock: Clock): Values {
  return [
    isoTime(clock.wallMs(e.ts_ns)), e.pid, e.tid, e.uid, e.comm, funcName(e), direction(e.func),
    e.len, data.toString('base64'), e.copied < e.len, usFromNs(e.lat_ns), e.func === HANDSHAKE ? e.ret : undefined,
  ];
}

/** One call as the typed API yields it (the object of `sslsnoop --json`'s line). */
export const toRecord = (e: Event, data: Buffer, clock: Clock): SslsnoopRecord => RECORD.record(recordValues(e, data, clock));

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

/** What setup() hands back: the object, and the number of functions probed. */
export interface SslHandle {
  skel: SslsnoopSkel;
  attached: number;
}

/** Plaintext bytes by library and direction, summed over the functions and the CPUs. */
export function tlsBytes(skel: SslsnoopSkel): { library: string; direction: 'read' | 'write'; bytes: number }[] {
  const totals = new Map<string, { library: string; direction: 'read' | 'write'; bytes: number }>();
  for (const l of LIBRARIES) for (const d of ['read', 'write'] as const) totals.set(`${l.name} ${d}`, { library: l.name, direction: d, bytes: 0 });
  const key = Buffer.alloc(4);
  for (const f of FUNC_IDS) {
    if (f === HANDSHAKE) continue; // moves no data
    key.writeUInt32LE(f);
    const t = totals.get(`${libraryOf(f)} ${isWrite(f) ? 'write' : 'read'}`)!;
    for (const v of skel.maps.tls_bytes.lookupPerCpu(key)) t.bytes += Number(v.readBigUInt64LE(0));
  }
  return [...totals.values()];
}

/**
 * Its Prometheus series (libs/metrics/README.md), for `sslsnoop --metrics` and the exporter: the
 * return probe adds the plaintext bytes each call moved to this CPU's total for its function in
 * tls_bytes, after the filters; a scrape sums the CPUs and groups the functions by library and direction.
 */
export function register(m: Metrics, skel: SslsnoopSkel): void {
  m.counter('tls_bytes_total', 'plaintext bytes moved through TLS libraries\' read and write functions, by library and direction', () =>
    tlsBytes(skel).map((t) => ({ labels: { library: t.library, direction: t.direction }, value: t.bytes })));
}

export const tool: EventCommand<SslArgs, SslsnoopOptions, SslHandle, Values, SslsnoopRecord> = {
  name: 'sslsnoop',
  spec,
  options: (a) => ({
    maxBufferSize: a['max-buffer-size'], handshake: a.handshake, binary: a.binary, noOpenssl: a['no-openssl'], noGnutls: a['no-gnutls'], noNss: a['no-nss'],
  }),
  /** each library family of the system (or of each --pid process, through /proc/PID/root) and the --binary files */
  setup(session, o, counting = {}) {
    const max = parseMaxBuffer(o.maxBufferSize);
    const excluded: Record<LibraryName, boolean | undefined> = { openssl: o.noOpenssl, gnutls: o.noGnutls, nss: o.noNss };
    const probe = (skel: SslsnoopSkel, f: SslFunc): UprobeFunction => ({ func: FUNC_NAMES[f], cookie: f, entry: entryOf(skel, f), ret: skel.progs.sslsnoop_return });
    return setupUprobes(
      session,
      { libraries: LIBRARIES.filter((l) => !excluded[l.name]), binaries: (o.binary ?? []).map((path) => ({ path, option: '--binary', name: 'openssl' })) },
      () => session.open(SslsnoopSkel, new URL('../bpf/sslsnoop.bpf.o', import.meta.url), { cfg_max_data: max }, counting),
      (skel, library) => [...LIBRARIES.find((l) => l.name === library)!.funcs, ...(library === 'openssl' && o.handshake ? [HANDSHAKE] : [])].map((f) => probe(skel, f)),
      () => 'no TLS library function could be probed (none found, or all excluded): run with -v, or give --binary PATH',
    );
  },
  ring: (h) => h.skel.maps.events,
  record: RECORD,
  values: (_h, clock) => (b, off) => {
    const e = decodeEvent(b, off);
    return recordValues(e, dataOf(e, b, off), clock);
  },
  text(_h, a: SslArgs & CommonArgs, ctx) {
    const cols = new Columns([
      { name: 'FUNC', width: 18 },
      { name: 'TIME', width: 12 },
      { name: 'COMM', width: 16 },
      { name: 'PID', width: 7, align: 'right' },
      ...(a.extra ? [{ name: 'UID', width: 6, align: 'right' as const }, { name: 'TID', width: 7, align: 'right' as const }] : []),
      { name: 'LEN', width: 7, align: 'right' },
      ...(a.latency ? [{ name: 'LAT(ms)', width: 9, align: 'right' as const }] : []),
      { name: '', width: 0 },
    ]);
    const render = (e: Event, data: Buffer): string => {
      const ms = ctx.clock.wallMs(e.ts_ns);
      const func = funcName(e);
      if (a.columns) return cols.row([func, clockTime(ms), tableText(e.comm), e.pid, ...(a.extra ? [e.uid, e.tid] : []), e.len, ...(a.latency ? [(e.lat_ns / 1e6).toFixed(3)] : []), '']).trimEnd();
      const head = blockHead(
        { dir: e.func === HANDSHAKE ? 'handshake' : isWrite(e.func) ? '>' : '<', pid: e.pid, tid: e.tid, uid: e.uid, comm: tableText(e.comm), len: e.len, ret: e.ret, func },
        { extra: a.extra, time: a.timestamp ? clockTime(ms) : undefined, latMs: a.latency ? e.lat_ns / 1e6 : undefined },
      );
      if (e.func === HANDSHAKE) return head;
      // text as it is, but a byte that is not UTF-8 shows as \xNN and a backslash as \\ (blockText)
      const body = a.hexdump || !printable(data) ? hexdump(data) : blockText(decodeText(data)).replace(/\n$/, '');
      return `${head}\n${body}${e.copied < e.len ? `\n[truncated: ${e.len} bytes, ${e.copied} shown]` : ''}`;
    };
    return {
      ...(a.columns ? { header: cols.header().trimEnd() } : {}),
      line: (b, off) => {
        const e = decodeEvent(b, off);
        return render(e, dataOf(e, b, off));
      },
    };
  },
  started: (_h, ctx) => ctx.session.note('sslsnoop: the output holds decrypted TLS data (passwords, tokens, cookies): handle it like the keys themselves.'),
  ready: (h) => `Tracing TLS reads and writes (${h.attached} functions)... Hit Ctrl-C to end.`,
  register: (m, h) => register(m, h.skel),
};

/** The exporter's options for sslsnoop (its config file), named as the command's options. */
export interface SslsnoopMetricsOptions {
  'no-openssl'?: boolean;
  'no-gnutls'?: boolean;
  'no-nss'?: boolean;
}

/** The exporter's typed entry (`@bpf-recipes/sslsnoop/metrics`): the probes counting into tls_bytes, no record sent (no plaintext leaves the kernel). */
export const metrics: ToolMetrics<Session, SslsnoopMetricsOptions, SslsnoopSkel> = {
  options: { 'no-openssl': 'boolean', 'no-gnutls': 'boolean', 'no-nss': 'boolean' },
  open: (session, o) => tool.setup(session, tool.options(o), { metrics: true, events: false }).skel,
  register,
};

/**
 * Trace TLS reads and writes as they return: `for await (const r of trace({ pid: [1234] }))`.
 * Records hold decrypted data: handle them like the keys. Throws PreflightError/UsageError/
 * LoadError/AttachError; `break` or close() detaches.
 */
export const trace = (options: SslsnoopOptions = {}): EventStream<SslsnoopRecord> => traceTool(tool, options, new Clock());
