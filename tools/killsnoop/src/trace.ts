/**
 * killsnoop's tracing, as a library: the command (main.ts) and the typed API (trace()) run this
 * same code. The kernel side is bpf/killsnoop.bpf.c; Event, KsSource and the skeleton are
 * generated from its BTF and header.
 */
import { readFileSync } from 'node:fs';
import { parseIntArg, type CommonTraceOptions, type Counting, type EventStream, type Session, traceEvents } from '@bpf-recipes/runtime';
import { UsageError, decodeText } from '@bpf-recipes/core';
import { Clock, errnoName, isoTime, jsonFields, signalName, signalNumber } from '@bpf-recipes/format';
import { codeName, generateResult, sourceName } from './codes.js';
import { KillsnoopSkel, KsSource, decodeEvent, type Event } from './generated/killsnoop.js';
import { targetOf } from './target.js';

/** The command's options (`--all-signals`, `--failed`, `--tpid`, `--signal` and the common filters), typed. */
export interface KillsnoopOptions extends CommonTraceOptions {
  /** every generated signal, the kernel's too (signal:signal_generate) (`-a`) */
  allSignals?: boolean;
  /** only failed sends; with allSignals, signals not delivered (`-x`) */
  failed?: boolean;
  /** only signals sent to this PID or thread (`--tpid`) */
  tpid?: number;
  /** only these signals: names or numbers, RT included: ['TERM', 9, 'RTMIN+3'] (`-s`) */
  signal?: (string | number)[];
}

/** One signal, as `killsnoop --json` prints it (comm_b64/tcomm_b64 only when not UTF-8). */
export interface KillsnoopRecord {
  /** ISO 8601, ms */
  time: string;
  /** the sender (with allSignals: the task running when the signal was generated) */
  pid: number;
  tid: number;
  uid: number;
  comm: string;
  comm_b64?: string;
  sig: number;
  sig_name: string;
  /** the target as aimed at: a pid or tid, <= 0 for process groups, null when unknown */
  tpid: number | null;
  /** tgkill and rt_tgsigqueueinfo: the thread group */
  tgid?: number;
  tcomm: string;
  tcomm_b64?: string;
  /** the syscall's result (0 or -errno); with allSignals the delivery result (delivered, ignored, ...) */
  result: number | string;
  /** the errno's name of a failed syscall */
  errno?: string;
  /** kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_send_signal; signal_generate with allSignals */
  syscall: string;
  /** pidfd_send_signal: the descriptor */
  pidfd?: number;
  /** allSignals: the si_code and its name */
  code?: number;
  code_name?: string;
}

/** A process's comm from /proc (bytes kept, as the kernel's comm), undefined when it is gone. */
export function procComm(pid: number): string | undefined {
  try {
    return decodeText(readFileSync(`/proc/${pid}/comm`)).replace(/\n$/, '');
  } catch {
    return undefined;
  }
}

export function toRecord(e: Event, clock: Clock): KillsnoopRecord {
  const gen = e.source === KsSource.KS_GENERATE;
  const t = targetOf(e, procComm);
  return {
    time: isoTime(clock.wallMs(e.ts_ns)),
    pid: e.pid,
    tid: e.tid,
    uid: e.uid,
    ...(jsonFields('comm', e.comm) as { comm: string }),
    sig: e.sig,
    sig_name: signalName(e.sig),
    tpid: t.tpid,
    ...(e.source === KsSource.KS_TGKILL || e.source === KsSource.KS_RT_TGSIGQUEUEINFO ? { tgid: e.tpid } : {}),
    ...(jsonFields('tcomm', t.tcomm) as { tcomm: string }),
    result: gen ? generateResult(e.ret) : e.ret,
    ...(!gen && e.ret < 0 ? { errno: errnoName(-e.ret) } : {}),
    syscall: sourceName(e.source),
    ...(e.source === KsSource.KS_PIDFD_SEND_SIGNAL ? { pidfd: e.pidfd } : {}),
    ...(gen ? { code: e.code, code_name: codeName(e.sig, e.code) } : {}),
  };
}

/** -s: signals → the kernel's mask of 1..63 and the flag for 64 (UsageError on an unknown one). */
export function signalFilter(list: readonly (string | number)[] | undefined): { mask: bigint; sig64: boolean } {
  let mask = 0n;
  let sig64 = false;
  if (list === undefined) return { mask, sig64 };
  for (const s of list.map((x) => String(x).trim()).filter(Boolean)) {
    const n = signalNumber(s);
    if (n === undefined || n === 0) throw new UsageError(`--signal: unknown signal '${s}' (names like TERM or SIGRTMIN+3, or numbers 1-64)`);
    if (n === 64) sig64 = true;
    else mask |= 1n << BigInt(n);
  }
  if (mask === 0n && !sig64) throw new UsageError('--signal: give at least one signal');
  return { mask, sig64 };
}

/** --tpid PID → the number (UsageError unless 1..4194304). */
export const parseTpid = (v: unknown): number => parseIntArg('tpid', String(v), 'a process ID', 1, 4194304);

/**
 * Open, configure, load and attach killsnoop's object on a session: events wait in skel.maps.events.
 * `counting.metrics`: count in sig_metrics too (--metrics); `counting.events: false`: send no event (the exporter).
 */
export function setup(session: Session, o: Pick<KillsnoopOptions, 'allSignals' | 'failed' | 'tpid' | 'signal'>, counting: Counting = {}): KillsnoopSkel {
  const { mask, sig64 } = signalFilter(o.signal);
  const tpid = o.tpid === undefined ? 0 : parseTpid(o.tpid);
  const all = Boolean(o.allSignals);
  const skel = session.open(KillsnoopSkel, new URL('../bpf/killsnoop.bpf.o', import.meta.url), {
    cfg_all: all,
    cfg_failed: Boolean(o.failed),
    cfg_tpid: tpid,
    cfg_sig_mask: mask,
    cfg_sig_64: sig64,
  }, counting);
  // -a: signal_generate alone; else the syscalls, with signal_generate noting their targets
  if (all) for (const p of Object.values(skel.progs)) if (p !== skel.progs.killsnoop_generate) skel.obj.setAutoload(p.name, false);
  // without --metrics the per-CPU counters are never touched: one entry instead of 4096 allocated at every start
  if (!counting.metrics) skel.obj.setMaxEntries(skel.maps.sig_metrics, 1);
  session.loadAndAttach(skel);
  return skel;
}

/**
 * Trace signals as they are sent: `for await (const s of trace({ signal: ['TERM'] }))`. Throws
 * PreflightError/UsageError/LoadError/AttachError; `break` or close() detaches.
 */
export function trace(options: KillsnoopOptions = {}): EventStream<KillsnoopRecord> {
  const clock = new Clock();
  return traceEvents('killsnoop', options, (session) => {
    const skel = setup(session, options);
    return { ring: skel.maps.events, record: (b, off) => toRecord(decodeEvent(b, off), clock) };
  });
}
