/**
 * opensnoop, declared once: its option table, how the options become the object's config, its
 * record (the typed API's object and the --json line, from one list of values), its table and its
 * Prometheus series. The command (main.ts: runEventTool), trace(), the exporter's entry, --help and
 * the man page all come from here. The kernel side is bpf/opensnoop.bpf.c; Event is generated from its BTF.
 */
import type { CommonArgs, EventCommand, ToolSpec } from '@bpf-recipes/cli';
import { packageVersion, parseMetricsBy, traceTool, type CommonTraceOptions, type EventStream, type Session, type TaskRecord } from '@bpf-recipes/runtime';
import { Clock, Columns, clockTime, errnoName, isoTime, recordFormat, tableText, usFromNs, type Column } from '@bpf-recipes/format';
import type { Metrics, MetricsBy, ToolMetrics } from '@bpf-recipes/metrics';
import { OPEN_RESULT_KEY_OFFSETS, OpenCall, OpensnoopSkel, decodeEvent, type Event } from './generated/opensnoop.js';
import { flagNames, hasMode, parseFlagFilter } from './flags.js';

export const spec: ToolSpec = {
  name: 'opensnoop',
  version: packageVersion(import.meta.url),
  summary: 'Trace open(2), openat(2) and openat2(2) system-wide: who opened which path, with which flags, and the result.',
  examples: [
    ['opensnoop', 'trace every open, system-wide'],
    ['opensnoop -T -e', 'with wall-clock time, flags and mode'],
    ['opensnoop -x', 'only failed opens'],
    ['opensnoop -p 181 --flag-filter O_CREAT', 'PID 181 only, only opens that may create'],
    ['opensnoop -n nginx -d 10', 'processes whose name contains "nginx", for 10 seconds'],
    ['opensnoop --json | jq .path', 'NDJSON events'],
  ],
  options: {
    'print-uid': { alias: 'U', type: 'boolean', describe: 'add a UID column' },
    'extended-fields': { alias: 'e', type: 'boolean', describe: 'add MODE and FLAGS (symbolic) columns' },
    failed: { alias: 'x', type: 'boolean', describe: 'only failed opens (filtered in the kernel)' },
    'flag-filter': {
      alias: 'F', type: 'string', array: true, arg: 'FLAG',
      describe: 'only opens with any of these flags, e.g. O_WRONLY or O_CREAT (repeatable)',
    },
  },
  metricsBy: true,
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'timestamp', 'json', 'verbose', 'buffer-size'],
  notes:
    'Columns: PID and COMM of the caller, FD returned (-1 on failure), ERR the errno (0 on success), PATH as passed ' +
    '(relative paths are relative to the caller\'s cwd or dirfd). Paths are shown whole, up to PATH_MAX.',
};

/** The command line's own options, as parsed. */
export interface OpensnoopArgs {
  'print-uid'?: boolean;
  'extended-fields'?: boolean;
  failed?: boolean;
  'flag-filter'?: string[];
}

/** The typed API's options (`--failed`, `--flag-filter`, and the common filters). */
export interface OpensnoopOptions extends CommonTraceOptions {
  /** only failed opens (`-x`) */
  failed?: boolean;
  /** only opens with any of these flags, e.g. ['O_WRONLY', 'O_CREAT'] (`-F`) */
  flagFilter?: string[];
}

type CallOf<K> = K extends `CALL_${infer N}` ? Lowercase<N> : never;
/** A call's name: its enumerator of `enum open_call` (bpf/opensnoop.h, generated) without CALL_, in lower case. */
export type CallName = CallOf<keyof typeof OpenCall>;
/** The calls by their number in `enum open_call`: ['open', 'openat', 'openat2'] */
export const CALLS: readonly CallName[] = Object.entries(OpenCall)
  .filter((kv): kv is [string, number] => typeof kv[1] === 'number')
  .sort((a, b) => a[1] - b[1])
  .map(([k]) => k.slice('CALL_'.length).toLowerCase() as CallName);

/** One open, as `opensnoop --json` prints it (comm_b64/path_b64 only when not UTF-8). */
export interface OpensnoopRecord extends TaskRecord {
  /** the descriptor returned, -1 on failure */
  fd: number;
  /** the errno, 0 on success */
  err: number;
  /** its name (ENOENT), null on success */
  errno: string | null;
  flags: number;
  flags_str: string;
  /** mode when the flags take one (O_CREAT, O_TMPFILE), else null */
  mode: number | null;
  call: CallName;
  /** the directory descriptor of openat/openat2 (-100 = AT_FDCWD), null for open */
  dirfd: number | null;
  /** time in the call, µs */
  latency_us: number;
  path: string;
  path_b64?: string;
}

/** The call's name; a number the decoder does not know yet stays a number. */
export const callName = (e: Event): string => CALLS[e.call] ?? String(e.call);

/**
 * The calls a loaded object traces: those whose syscall tracepoints this kernel has (arm64 and
 * the other architectures of the generic syscall table have no open(2): its programs are skipped).
 */
export const attachedCalls = (skel: OpensnoopSkel): (typeof CALLS)[number][] =>
  CALLS.filter((c) => !skel.obj.skipped.some((s) => s.program === `opensnoop_enter_${c}`));

/** "open(2), openat(2) and openat2(2)" */
export const callList = (calls: readonly string[]): string =>
  calls.map((c) => `${c}(2)`).join(', ').replace(/, ([^,]*)$/, ' and $1');

/** The record's fields, in order: toRecord() and `opensnoop --json` are both made from them. */
type Values = [time: string, pid: number, tid: number, uid: number, comm: string, fd: number, err: number, errno: string | null, flags: number, flags_str: string, mode: number | null, call: string, dirfd: number | null, latency_us: number, path: string];
const RECORD = recordFormat<Values, OpensnoopRecord>([
  ['time', 'plain'], ['pid', 'num'], ['tid', 'num'], ['uid', 'num'], ['comm', 'text'], ['fd', 'num'], ['err', 'num'], ['errno', 'plain'],
  ['flags', 'num'], ['flags_str', 'plain'], ['mode', 'num'], ['call', 'plain'], ['dirfd', 'num'], ['latency_us', 'num'], ['path', 'text'],
]);

/** An event's values in RECORD's order (latency in µs, to the ns: the unit every tool's JSON uses). */
function recordValues(e: Event, clock: Clock): Values {
  const ok = e.ret >= 0;
  return [
    isoTime(clock.wallMs(e.ts_ns)), e.pid, e.tid, e.uid, e.comm, ok ? e.ret : -1, ok ? 0 : -e.ret, ok ? null : errnoName(-e.ret),
    e.flags, flagNames(e.flags), hasMode(e.flags) ? e.mode : null, callName(e), e.call === OpenCall.CALL_OPEN ? null : e.dirfd, usFromNs(e.lat_ns), e.path,
  ];
}

/** One event as the typed API yields it (the object of `opensnoop --json`'s line). */
export const toRecord = (e: Event, clock: Clock): OpensnoopRecord => RECORD.record(recordValues(e, clock));

/**
 * FLAGS is as wide as the longest flag set libc commonly passes, opendir()'s
 * O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC (41), so rows stay aligned; MODE (fixed width) comes
 * before it so a rarer, longer set (fts's, 61) can only push PATH, the last column, to the right.
 */
export const FLAGS_WIDTH = 41;

/** The table's columns (the same list for the header and every row). */
export function tableColumns(o: { timestamp?: boolean; printUid?: boolean; extended?: boolean }): Column[] {
  const cols: Column[] = [];
  if (o.timestamp) cols.push({ name: 'TIME', width: 12 });
  if (o.printUid) cols.push({ name: 'UID', width: 6, align: 'right' });
  cols.push({ name: 'PID', width: 7, align: 'right' }, { name: 'COMM', width: 16 }, { name: 'FD', width: 3, align: 'right' }, { name: 'ERR', width: 3, align: 'right' });
  if (o.extended) cols.push({ name: 'MODE', width: 5 }, { name: 'FLAGS', width: FLAGS_WIDTH });
  cols.push({ name: 'PATH', width: 0 });
  return cols;
}

/** What register() reads: the object, and --metrics-by's choice. */
export interface OpensnoopMaps {
  skel: OpensnoopSkel;
  by?: MetricsBy;
}

/** Opens by result ('ok' or the errno's name) and by the key's comm or cgroup bytes (label()), summed over the CPUs. */
export function openResults(skel: OpensnoopSkel, label?: (key: Buffer, off: number) => string): { result: string; by: string; count: number }[] {
  const map = skel.maps.open_results;
  const rows = new Map<string, { result: string; by: string; count: number }>();
  for (const k of map.keys()) {
    const err = k.readUInt32LE(0);
    const result = err === 0 ? 'ok' : errnoName(err);
    const by = label ? label(k, OPEN_RESULT_KEY_OFFSETS.by) : '';
    const count = map.lookupPerCpu(k).reduce((s, v) => s + Number(v.readBigUInt64LE(0)), 0);
    const id = `${result}\0${by}`;
    const have = rows.get(id);
    if (have) have.count += count;
    else rows.set(id, { result, by, count });
  }
  return [...rows.values()].sort((a, b) => a.result.localeCompare(b.result) || a.by.localeCompare(b.by));
}

/**
 * Its Prometheus series (libs/metrics/README.md), for `opensnoop --metrics` and the exporter: the
 * exit programs add each open to this CPU's count for its result in open_results (after -x, -F and
 * the common filters), next to the ring buffer's record; a scrape sums the CPUs.
 */
export function register(m: Metrics, h: OpensnoopMaps): void {
  const { skel, by } = h;
  if (!by) {
    m.counter('opens_total', 'open(2), openat(2) and openat2(2) calls, by result (ok or the errno name)', () =>
      openResults(skel).map((r) => ({ labels: { result: r.result }, value: r.count })));
    return;
  }
  // --metrics-by: the top N comms (or cgroups) by opens keep their label, the rest are "other"
  const folder = m.byFolder(by);
  m.counter('opens_total', `open(2), openat(2) and openat2(2) calls, by result (ok or the errno name) and ${by.by} (the top ${by.top}, the rest "other")`, () => {
    folder.scrape();
    const rows = openResults(skel, (k, off) => folder.label(k, off)).map((r) => ({ by: r.by, labels: { result: r.result }, values: [r.count] }));
    return folder.fold(rows).map((r) => ({ labels: r.labels, value: r.values[0] }));
  });
}

export const tool: EventCommand<OpensnoopArgs, OpensnoopOptions, OpensnoopSkel, Values, OpensnoopRecord> = {
  name: 'opensnoop',
  spec,
  options: (a) => ({ failed: a.failed, flagFilter: a['flag-filter'] }),
  setup(session, o, counting = {}) {
    const skel = session.open(OpensnoopSkel, new URL('../bpf/opensnoop.bpf.o', import.meta.url), {
      cfg_failed: Boolean(o.failed),
      ...parseFlagFilter(o.flagFilter),
    }, counting);
    // without --metrics the 16384 per-CPU counters are never touched: one entry, not ~7 ms of the kernel's allocations at every start
    if (!counting.metrics) skel.obj.setMaxEntries(skel.maps.open_results, 1);
    session.loadAndAttach(skel);
    return skel;
  },
  ring: (skel) => skel.maps.events,
  record: RECORD,
  values: (_h, clock) => (b, off) => recordValues(decodeEvent(b, off), clock),
  text(_h, a: OpensnoopArgs & CommonArgs, ctx) {
    const table = new Columns(tableColumns({ timestamp: a.timestamp, printUid: a['print-uid'], extended: a['extended-fields'] }));
    const row = (e: Event): string => {
      const v: (string | number)[] = [];
      if (a.timestamp) v.push(clockTime(ctx.clock.wallMs(e.ts_ns)));
      if (a['print-uid']) v.push(e.uid);
      v.push(e.pid, tableText(e.comm), e.ret >= 0 ? e.ret : -1, e.ret >= 0 ? 0 : -e.ret);
      if (a['extended-fields']) v.push(hasMode(e.flags) ? '0' + e.mode.toString(8).padStart(3, '0') : '-', flagNames(e.flags));
      v.push(tableText(e.path));
      return table.row(v);
    };
    return { header: table.header(), line: (b, off) => row(decodeEvent(b, off)) };
  },
  ready: (skel) => `Tracing ${callList(attachedCalls(skel))}... Hit Ctrl-C to end.`,
  register: (m, skel, by) => register(m, { skel, by }),
};

/** The exporter's typed entry (`@bpf-recipes/opensnoop/metrics`): counting only, no event sent. */
export const metrics: ToolMetrics<Session, { failed?: boolean; metricsBy?: string; metricsTop?: number }, OpensnoopMaps> = {
  options: { failed: 'boolean', metricsBy: 'string', metricsTop: 'number' },
  open(session, o) {
    const by = parseMetricsBy('opensnoop', o.metricsBy, o.metricsTop, { by: 'opensnoop.metricsBy', top: 'opensnoop.metricsTop' });
    return { skel: tool.setup(session, { failed: o.failed }, { metrics: true, events: false, by }), by };
  },
  register,
};

/**
 * Trace opens as they happen: `for await (const e of trace({ failed: true }))`. Throws
 * PreflightError/UsageError/LoadError/AttachError; `break` or close() detaches.
 */
export const trace = (options: OpensnoopOptions = {}): EventStream<OpensnoopRecord> => traceTool(tool, options, new Clock());
