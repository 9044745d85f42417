/**
 * syscount's aggregation, as a library: the command (main.ts) and the typed API (start()) read the
 * same kernel maps through the same code. The kernel side is bpf/syscount.bpf.c; the skeleton,
 * the map records and SYSCOUNT_MAX_NR/SYSCOUNT_HIST_SLOTS are generated from its BTF and header.
 */
import type { MetricsBy } from '@bpf-recipes/metrics';
import { aggregation, parseIntArg, sessionOptions, type Aggregation, type CommonTraceOptions, type Session } from '@bpf-recipes/runtime';
import { UsageError, errnoNumber, type BpfMap } from '@bpf-recipes/core';
import { isoTime, jsonFields } from '@bpf-recipes/format';
import { decodeHistKey, decodeProcCache, decodeProcStat, decodeScStat, type SyscountSkel } from './generated/syscount.js';
import { HIST_SLOTS, MAX_NR, openSyscount, syscallNrs } from './object.js';
import { parseSyscalls, syscallName, syscallTable } from '@bpf-recipes/format';

/** The command's options (`-L`, `--hist`, `-x`, `-e`, `--syscall`, `-P`, `--top` and the common filters), typed. */
export interface SyscountOptions extends CommonTraceOptions {
  /** time each call: total_ns per syscall and process (`-L`) */
  latency?: boolean;
  /** a log2 histogram of durations per syscall, µs slots (`--hist`; implies latency) */
  hist?: boolean;
  /** only failed calls (`-x`) */
  failures?: boolean;
  /** only calls that failed with this errno: a name (ENOENT) or a number (`-e`) */
  errno?: string | number;
  /** only these syscalls: names or numbers (`--syscall`) */
  syscall?: (string | number)[];
  /** processes only, no syscall rows (`-P`) */
  process?: boolean;
  /** rows of each list, most first (`--top`, default 10) */
  top?: number;
}

export interface Totals { count: number; errors: number; total_ns: number }
export interface ProcTotals extends Totals { comm: string; commNs: number }

/** A syscall's row, as `syscount --json` prints it. */
export interface SyscallRow {
  name: string;
  /** the syscall number of this architecture */
  id: number;
  count: number;
  /** calls that returned an error (below 0) */
  errors: number;
  /** with latency: the sum of the calls' durations, ns (a sum, exact: divide by count for the mean) */
  total_ns?: number;
}
/** A process's row, as `syscount --json` prints it (comm_b64 only when not UTF-8). */
export interface ProcessRow {
  pid: number;
  comm: string;
  comm_b64?: string;
  count: number;
  errors: number;
  total_ns?: number;
}
/** What the kernel counted, as one `syscount --json` line holds it: most first, `top` rows each. */
export interface SyscountSnapshot {
  /** ISO 8601, ms */
  time: string;
  /** with -i: seconds since the previous line (the command only) */
  interval_s?: number;
  /** absent with `process` */
  syscalls?: SyscallRow[];
  processes: ProcessRow[];
  /** with hist: per syscall name, calls by log2 µs slot (slot 0: under 1 µs; slot k: [2^(k-1), 2^k) µs; the last one also everything longer) */
  latency_hist_us?: Record<string, number[]>;
}

/** -e ENOENT|2 → the errno (UsageError for anything else). */
export function parseErrno(v: string | number): number {
  const s = String(v).trim();
  const n = /^\d+$/.test(s) ? Number(s) : errnoNumber(s);
  if (!n || n > 4095) throw new UsageError(`--errno: unknown errno '${s}' (a name like ENOENT or a number)`);
  return n;
}

/** The kernel's totals since attach, summed over CPUs. */
export class SyscountCounts {
  private readonly key = Buffer.alloc(4);
  constructor(readonly skel: SyscountSkel, readonly nrs: number[]) {}

  syscalls(): Map<number, Totals> {
    const now = new Map<number, Totals>();
    for (const nr of this.nrs) {
      this.key.writeUInt32LE(nr);
      const t = sumPerCpu(this.skel.maps.syscalls, this.key);
      if (t.count > 0) now.set(nr, t);
    }
    return now;
  }

  /** per-process totals = the hash + each CPU's slot for the process it is counting now */
  processes(): Map<number, ProcTotals> {
    const { processes, proc_cache } = this.skel.maps;
    const now = new Map<number, ProcTotals>();
    // a process that moved between CPUs has a slot on each: the name read last is its name now
    // (a shell wrapper that exec()s, a prctl rename)
    const add = (pid: number, s: { count: number; errors: number; total_ns: number; comm_ns: number; comm: string }) => {
      const t = now.get(pid) ?? { count: 0, errors: 0, total_ns: 0, comm: '', commNs: -1 };
      t.count += s.count;
      t.errors += s.errors;
      t.total_ns += s.total_ns;
      if (s.comm && s.count && s.comm_ns > t.commNs) {
        t.comm = s.comm;
        t.commNs = s.comm_ns;
      }
      now.set(pid, t);
    };
    for (const k of processes.keys()) for (const v of processes.lookupPerCpu(k)) add(k.readUInt32LE(0), decodeProcStat(v, 0));
    for (const v of proc_cache.lookupPerCpu(Buffer.alloc(4))) {
      const c = decodeProcCache(v, 0);
      if (c.pid) add(c.pid, c.stat);
    }
    return now;
  }

  /** --hist: calls per log2 µs slot, by syscall number */
  hists(): Map<number, number[]> {
    const { hists } = this.skel.maps;
    const out = new Map<number, number[]>();
    for (const k of hists.keys()) {
      const hk = decodeHistKey(k, 0);
      const slots = out.get(hk.nr) ?? new Array<number>(HIST_SLOTS).fill(0);
      slots[hk.slot] += hists.sumU64(k);
      out.set(hk.nr, slots);
    }
    return out;
  }
}

function sumPerCpu(map: BpfMap, key: Buffer): Totals {
  const t = { count: 0, errors: 0, total_ns: 0 };
  for (const v of map.lookupPerCpu(key)) {
    const s = decodeScStat(v, 0);
    t.count += s.count;
    t.errors += s.errors;
    t.total_ns += s.total_ns;
  }
  return t;
}

export interface SnapshotShape {
  names: readonly (string | undefined)[];
  latency: boolean;
  hist: boolean;
  process: boolean;
  top: number;
}

/** Rows most first (by time with latency, else by count), `top` of each. */
export function rank<T extends Totals>(m: Map<number, T>, latency: boolean, top: number): [number, T][] {
  const by = (x: Totals, y: Totals) => (latency ? y.total_ns - x.total_ns : y.count - x.count) || 0;
  return [...m].sort((x, y) => by(x[1], y[1])).slice(0, top);
}

/** One --json line from counts (totals, or what changed in an interval). */
export function toSnapshot(
  timeMs: number, sys: Map<number, Totals>, procs: Map<number, ProcTotals>, hists: Map<number, number[]>, s: SnapshotShape, intervalS?: number,
): SyscountSnapshot {
  const lat = (t: Totals) => (s.latency ? { total_ns: t.total_ns } : {});
  return {
    time: isoTime(timeMs),
    ...(intervalS !== undefined ? { interval_s: intervalS } : {}),
    ...(s.process ? {} : { syscalls: rank(sys, s.latency, s.top).map(([nr, t]) => ({ name: syscallName(nr, s.names), id: nr, count: t.count, errors: t.errors, ...lat(t) })) }),
    processes: rank(procs, s.latency, s.top).map(([pid, t]) => ({ pid, ...(jsonFields('comm', t.comm) as { comm: string }), count: t.count, errors: t.errors, ...lat(t) })),
    ...(s.hist ? { latency_hist_us: Object.fromEntries([...hists].map(([nr, slots]) => [syscallName(nr, s.names), slots])) } : {}),
  };
}

export interface SyscountSetup {
  skel: SyscountSkel;
  counts: SyscountCounts;
  shape: SnapshotShape;
  /** the syscall numbers --syscall gave (undefined: all) */
  only?: number[];
}

/**
 * Check the options (--top as a number or the command line's text), then open, configure, load and attach syscount's object on a session.
 * `histForMetrics`: keep the histogram for --metrics -L even without --hist.
 */
export function setup(session: Session, o: Omit<SyscountOptions, keyof CommonTraceOptions | 'top'> & { top?: number | string }, histForMetrics = false, metricsBy?: MetricsBy): SyscountSetup {
  const names = syscallTable();
  const top = o.top === undefined ? 10 : parseIntArg('top', String(o.top), 'a number of rows (1 or more)', 1);
  const errno = o.errno === undefined ? 0 : parseErrno(o.errno);
  const only = o.syscall === undefined ? undefined : parseSyscalls(o.syscall.join(','), names, { max: MAX_NR, hint: ' (syscount -l lists them)' });
  const latency = Boolean(o.latency || o.hist);
  const hist = Boolean(o.hist);
  const skel = openSyscount(session, { latency, hist: hist || (latency && histForMetrics), failures: o.failures, errno, only, names, metricsBy });
  return { skel, only, counts: new SyscountCounts(skel, syscallNrs(only, names)), shape: { names, latency, hist, process: Boolean(o.process), top } };
}

/**
 * Count syscalls in the kernel from now on: `const a = start({ latency: true }); ... a.snapshot()`
 * gives what one `syscount --json` line holds for the time since start. Throws
 * PreflightError/UsageError/LoadError/AttachError; close() detaches.
 */
export function start(options: SyscountOptions = {}): Aggregation<SyscountSnapshot> {
  return aggregation<SyscountSnapshot>(sessionOptions('syscount', options), (session) => {
    const { counts, shape } = setup(session, options);
    return () => toSnapshot(Date.now(), counts.syscalls(), counts.processes(), shape.hist ? counts.hists() : new Map(), shape);
  });
}
