/**
 * opensnoop's tracing, as a library: the command (main.ts) and the typed API (trace()) run this
 * same code. The kernel side is bpf/opensnoop.bpf.c; Event is generated from its BTF.
 */
import { type CommonTraceOptions, type Counting, type EventStream, type Session, traceEvents } from '@bpf-recipes/runtime';
import { Clock, errnoName, isoTime, recordFormat, usFromNs } from '@bpf-recipes/format';
import { OpenCall, OpensnoopSkel, decodeEvent, type Event } from './generated/opensnoop.js';
import { flagNames, hasMode, parseFlagFilter } from './flags.js';

/** The command's options (`--failed`, `--flag-filter`, and the common filters), typed. */
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
export interface OpensnoopRecord {
  /** ISO 8601, ms */
  time: string;
  pid: number;
  tid: number;
  uid: number;
  comm: string;
  comm_b64?: string;
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
export const RECORD = recordFormat<Values, OpensnoopRecord>([
  ['time', 'plain'], ['pid', 'num'], ['tid', 'num'], ['uid', 'num'], ['comm', 'text'], ['fd', 'num'], ['err', 'num'], ['errno', 'plain'],
  ['flags', 'num'], ['flags_str', 'plain'], ['mode', 'num'], ['call', 'plain'], ['dirfd', 'num'], ['latency_us', 'num'], ['path', 'text'],
]);

/** An event's values in RECORD's order (latency in µs, to the ns: the unit every tool's JSON uses). */
export function recordValues(e: Event, clock: Clock): Values {
  const ok = e.ret >= 0;
  return [
    isoTime(clock.wallMs(e.ts_ns)), e.pid, e.tid, e.uid, e.comm, ok ? e.ret : -1, ok ? 0 : -e.ret, ok ? null : errnoName(-e.ret),
    e.flags, flagNames(e.flags), hasMode(e.flags) ? e.mode : null, callName(e), e.call === OpenCall.CALL_OPEN ? null : e.dirfd, usFromNs(e.lat_ns), e.path,
  ];
}

/** One event as the typed API yields it (the object of `opensnoop --json`'s line). */
export const toRecord = (e: Event, clock: Clock): OpensnoopRecord => RECORD.record(recordValues(e, clock));

/** Open, configure, load and attach opensnoop's object on a session: events wait in skel.maps.events. */
export function setup(
  session: Session,
  o: Pick<OpensnoopOptions, 'failed' | 'flagFilter'>,
  /** count in the kernel for --metrics (open_results); events: false sends none (the exporter) */
  counting: Counting = {},
): OpensnoopSkel {
  const skel = session.open(OpensnoopSkel, new URL('../bpf/opensnoop.bpf.o', import.meta.url), {
    cfg_failed: Boolean(o.failed),
    ...parseFlagFilter(o.flagFilter),
  }, counting);
  // without --metrics the 16384 per-CPU counters are never touched: one entry, not ~7 ms of the kernel's allocations at every start
  if (!counting.metrics) skel.obj.setMaxEntries(skel.maps.open_results, 1);
  session.loadAndAttach(skel);
  return skel;
}

/**
 * Trace opens as they happen: `for await (const e of trace({ failed: true }))`. Throws
 * PreflightError/UsageError/LoadError/AttachError; `break` or close() detaches.
 */
export function trace(options: OpensnoopOptions = {}): EventStream<OpensnoopRecord> {
  const clock = new Clock();
  return traceEvents('opensnoop', options, (session) => {
    const skel = setup(session, options);
    return { ring: skel.maps.events, record: (b, off) => toRecord(decodeEvent(b, off), clock) };
  });
}
