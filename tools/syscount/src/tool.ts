/**
 * syscount, declared once: its option table, how the options become the object's config, how a
 * snapshot is read from the kernel's maps (the typed API's start() and each --json line), how a
 * report prints, and its Prometheus series. The command (main.ts: runAggregationTool), start(),
 * the exporter's entry, --help and the man page all come from here. The kernel side is
 * bpf/syscount.bpf.c; the skeleton, the map records and SYSCOUNT_MAX_NR/SYSCOUNT_HIST_SLOTS are
 * generated from its BTF and header.
 */
import type { AggregationCommand, CommonArgs, ToolSpec } from '@bpf-recipes/cli';
import {
  intervalOption, loadPreferringBtf, packageVersion, parseIntArg, parseMetricsBy, startTool, type Aggregation, type CommonTraceOptions, type Counting, type Session,
} from '@bpf-recipes/runtime';
import { UsageError, errnoNumber, type BpfMap } from '@bpf-recipes/core';
import {
  intervalHeader, isoTime, jsonFields, log2Hist, parseSyscalls, syscallBitmap, syscallExitConfig, syscallName, syscallTable, syscallTableLines, table, tableText,
} from '@bpf-recipes/format';
import type { Metrics, MetricsBy, ToolMetrics } from '@bpf-recipes/metrics';
import {
  SC_BY_KEY_OFFSETS, SYSCOUNT_HIST_SLOTS, SYSCOUNT_MAX_NR, SyscountSkel, decodeHistKey, decodeProcCache, decodeProcStat, decodeScStat,
} from './generated/syscount.js';

export const spec: ToolSpec = {
  name: 'syscount',
  version: packageVersion(import.meta.url),
  summary: 'Count system calls: which, how many, how many failed, how slow, and by which processes — aggregated in the kernel.',
  examples: [
    ['syscount', 'top syscalls and top processes, printed at Ctrl-C'],
    ['syscount -i 1', 'every second, with a [HH:MM:SS] header'],
    ['syscount -p 181 -L', 'PID 181 only, with total and average time per syscall'],
    ['syscount -x -i 5', 'only failed calls, every 5 seconds'],
    ['syscount -e ENOENT', 'only calls that failed with ENOENT'],
    ['syscount -P --top 20', 'by process only, top 20'],
    ['syscount --syscall read,write --hist', 'read and write only, with a log2 latency histogram each'],
    ['syscount -l', 'print the syscall table of this architecture'],
  ],
  options: {
    top: { type: 'string', arg: 'N', describe: 'print the top N rows of each table (default 10)' },
    interval: intervalOption('counts', '0: only at the end (the default)'),
    failures: { alias: 'x', type: 'boolean', describe: 'count only failed calls' },
    errno: { alias: 'e', type: 'string', arg: 'NAME|NUM', describe: 'count only calls that failed with this errno (ENOENT or 2)' },
    latency: { alias: 'L', type: 'boolean', describe: 'add total and average time per syscall (and per process)' },
    milliseconds: { alias: 'm', type: 'boolean', describe: 'times in milliseconds (default: microseconds)' },
    process: { alias: 'P', type: 'boolean', describe: 'group by process only' },
    syscall: { type: 'string', arg: 'NAME[,NAME...]', describe: 'only these syscalls (filtered in the kernel)' },
    list: { alias: 'l', type: 'boolean', describe: 'print the syscall table (number and name) and exit' },
    hist: { type: 'boolean', describe: 'a log2 latency histogram per syscall (implies -L)' },
  },
  metricsBy: true,
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'json', 'verbose'],
  notes:
    'Counts are taken at syscall exit, from raw_syscalls:sys_exit through a BTF tracepoint (the classic tracepoint ' +
    'where BTF tracepoints are missing), and count what strace -f -c counts: a call that never returns (exit, ' +
    'exit_group) is not counted; a fork-like call (clone, clone3, fork, vfork) returns twice, in the parent and ' +
    'in the new task, and is counted once (the new task\'s 0 is skipped); rt_sigreturn exits under syscall ' +
    'number -1 (it restores the interrupted registers) and is counted as rt_sigreturn, an error when the value ' +
    'it restores is one (an interrupted call\'s -EINTR), as strace has it. ERRORS counts returns below 0. With ' +
    '-i each table holds the calls since the previous one. Still unlike strace -c: a call that a debugger ' +
    'skips by setting its number to -1 (strace --inject does) is counted as rt_sigreturn; with -L a call ' +
    'that was entered before the tool attached, or before a filter matched it (the execve that gives -n its ' +
    'comm), is not counted (it has no start time); times are kernel-measured, without ptrace\'s stops.',
};

/** The command line's own options, as parsed. */
export interface SyscountArgs {
  top?: string;
  interval?: string;
  failures?: boolean;
  errno?: string;
  latency?: boolean;
  milliseconds?: boolean;
  process?: boolean;
  syscall?: string;
  list?: boolean;
  hist?: boolean;
}

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

/** setup()'s options: the typed API's, and --top as the command line's text too (checked the same way). */
type SetupOptions = Omit<SyscountOptions, 'top'> & { top?: number | string };

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

/** A syscall's totals in a per-CPU map of sc_stat, summed over the CPUs. */
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

/** The kernel's totals since attach, summed over CPUs: what a snapshot, a report and a scrape read. */
export class SyscountCounts {
  private readonly key = Buffer.alloc(4);
  constructor(readonly skel: SyscountSkel, readonly nrs: number[]) {}

  /** by syscall number, ascending; only those called */
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

  /** the duration histograms: calls per log2 µs slot, by syscall number */
  hists(): Map<number, number[]> {
    const { hists } = this.skel.maps;
    const out = new Map<number, number[]>();
    for (const k of hists.keys()) {
      const hk = decodeHistKey(k, 0);
      const slots = out.get(hk.nr) ?? new Array<number>(SYSCOUNT_HIST_SLOTS).fill(0);
      slots[hk.slot] += hists.sumU64(k);
      out.set(hk.nr, slots);
    }
    return out;
  }
}

/** What setup() hands back: the object, its readers, and how the snapshot is shaped. */
export interface SyscountHandle {
  skel: SyscountSkel;
  counts: SyscountCounts;
  /** the syscall table (syscallTable()) */
  names: readonly (string | undefined)[];
  /** -L (or --hist): total_ns counted */
  latency: boolean;
  /** --hist: the histograms in the snapshot */
  hist: boolean;
  /** the kernel keeps the histogram (--hist, or -L with --metrics: the duration series) */
  kernelHist: boolean;
  process: boolean;
  top: number;
}

/** What register() reads: the object, and --metrics-by's choice (the kernel then counts by syscall and comm or cgroup too, in syscalls_by). */
export interface SyscountMaps extends SyscountHandle {
  by?: MetricsBy;
}

/** Rows most first (by time with latency, else by count), `top` of each. */
export function rank<T extends Totals>(m: Map<number, T>, latency: boolean, top: number): [number, T][] {
  const by = (x: Totals, y: Totals) => (latency ? y.total_ns - x.total_ns : y.count - x.count) || 0;
  return [...m].sort((x, y) => by(x[1], y[1])).slice(0, top);
}

/** One --json line (and snapshot()) from counts: totals, or what changed in an interval. */
export function toSnapshot(
  timeMs: number, sys: Map<number, Totals>, procs: Map<number, ProcTotals>, hists: Map<number, number[]>, s: SyscountHandle, intervalS?: number,
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

/**
 * Check the options (--top as a number or the command line's text), then open, configure, load and
 * attach syscount's object on a session. With `counting.metrics` -L keeps the histogram for the
 * duration series; `counting.by` (--metrics-by) counts by syscall and comm or cgroup too.
 */
function setup(session: Session, o: SetupOptions, counting: Counting = {}): SyscountHandle {
  const names = syscallTable();
  const top = o.top === undefined ? 10 : parseIntArg('top', String(o.top), 'a number of rows (1 or more)', 1);
  const errno = o.errno === undefined ? 0 : parseErrno(o.errno);
  const only = o.syscall === undefined ? undefined : parseSyscalls(o.syscall.join(','), names, { max: SYSCOUNT_MAX_NR, hint: ' (syscount -l lists them)' });
  const latency = Boolean(o.latency || o.hist);
  const hist = Boolean(o.hist);
  const kernelHist = hist || (latency && Boolean(counting.metrics));
  const by = counting.by;
  const config = {
    cfg_latency: latency,
    cfg_hist: kernelHist,
    cfg_failures: Boolean(o.failures),
    cfg_errno: errno,
    cfg_processes: true,
    cfg_filter_syscalls: only !== undefined,
    cfg_syscalls: syscallBitmap(only ?? [], SYSCOUNT_MAX_NR / 8),
    cfg_nr_execve: names.indexOf('execve'),
    cfg_nr_execveat: names.indexOf('execveat'),
    // fork-like calls and rt_sigreturn counted once each
    ...syscallExitConfig(names),
  };
  // BTF tracepoints first; the classic tracepoints where they cannot load
  const skel = loadPreferringBtf(session, (btf: boolean): SyscountSkel => {
    const skel = session.open(SyscountSkel, new URL('../bpf/syscount.bpf.o', import.meta.url), config, { by });
    const { maps, progs, obj } = skel;
    if (!kernelHist) obj.setMaxEntries(maps.hists, 1);
    if (!by) obj.setMaxEntries(maps.syscalls_by, 1);
    if (btf || !latency) obj.setMaxEntries(maps.start_tid, 1);
    const wanted = btf ? [progs.syscount_btf_enter, progs.syscount_btf_exit] : [progs.syscount_tp_enter, progs.syscount_tp_exit];
    for (const p of Object.values(progs)) obj.setAutoload(p.name, wanted.includes(p));
    session.loadAndAttach(skel);
    return skel;
  });
  // the syscall numbers to read: --syscall's, or every one of the table
  const nrs = only ?? Array.from({ length: Math.min(SYSCOUNT_MAX_NR, Math.max(names.length + 64, 512)) }, (_, i) => i);
  return { skel, counts: new SyscountCounts(skel, nrs), names, latency, hist, kernelHist, process: Boolean(o.process), top };
}

/** What happened since the last report (kernel totals only grow: nothing is cleared mid-flight). */
function delta<T extends Totals>(now: Map<number, T>, prev: Map<number, Totals>): Map<number, T> {
  const out = new Map<number, T>();
  for (const [k, t] of now) {
    const p = prev.get(k);
    const d = { ...t, count: t.count - (p?.count ?? 0), errors: t.errors - (p?.errors ?? 0), total_ns: t.total_ns - (p?.total_ns ?? 0) };
    prev.set(k, { count: t.count, errors: t.errors, total_ns: t.total_ns });
    if (d.count > 0) out.set(k, d);
  }
  return out;
}

/** The histograms' slots since the last report (those with a call in it). */
function histDelta(now: Map<number, number[]>, prev: Map<number, number[]>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const [nr, slots] of now) {
    const p = prev.get(nr);
    const d = slots.map((n, i) => n - (p?.[i] ?? 0));
    prev.set(nr, slots);
    if (d.some((n) => n > 0)) out.set(nr, d.map((n) => Math.max(n, 0)));
  }
  return out;
}

/**
 * Its Prometheus series (libs/metrics/README.md), for `syscount --metrics` and the exporter, read
 * from the kernel maps when Prometheus scrapes (nothing per event in user space); the maps hold
 * totals since attach, which is what a counter is.
 */
export function register(m: Metrics, h: SyscountMaps): void {
  const { counts, names, by } = h;
  if (by) registerBy(m, h, by);
  else {
    m.counter('syscalls_total', 'system calls that returned, by syscall (what syscount counts, its filters applied)', () =>
      [...counts.syscalls()].map(([nr, t]) => ({ labels: { syscall: syscallName(nr, names) }, value: t.count })));
    // the kernel side counts failures per syscall, not per errno: no errno label
    m.counter('syscall_errors_total', 'system calls that returned an error (below 0), by syscall', () =>
      [...counts.syscalls()].map(([nr, t]) => ({ labels: { syscall: syscallName(nr, names) }, value: t.errors })));
  }
  if (!h.kernelHist) return;
  // slots of whole µs (ns / 1000): bucket bounds 2^k µs - 1 ns
  m.log2Histogram('syscall_duration_seconds', 'time from syscall entry to exit, by syscall', { unit: 1e-6, resolution: 1e-9 }, () => {
    const total = counts.syscalls();
    return [...counts.hists()].map(([nr, slots]) => ({ labels: { syscall: syscallName(nr, names) }, slots, sum: (total.get(nr)?.total_ns ?? 0) / 1e9 }));
  });
}

/**
 * --metrics-by: the counters by syscall and comm (or cgroup path) from syscalls_by, the top N
 * comms by calls keeping their label and the rest summed into "other". One read serves both
 * families of a scrape (prom-client collects them one after the other).
 */
function registerBy(m: Metrics, h: SyscountHandle, by: MetricsBy): void {
  const folder = m.byFolder(by);
  const map = h.skel.maps.syscalls_by;
  let cached: { at: number; rows: ReturnType<typeof folder.fold> } | undefined;
  const read = () => {
    if (cached && Date.now() - cached.at < 100) return cached.rows;
    folder.scrape();
    const rows = [];
    for (const key of map.keys()) {
      const t = sumPerCpu(map, key);
      if (t.count > 0) rows.push({ by: folder.label(key, SC_BY_KEY_OFFSETS.by), labels: { syscall: syscallName(key.readUInt32LE(SC_BY_KEY_OFFSETS.nr), h.names) }, values: [t.count, t.errors] });
    }
    cached = { at: Date.now(), rows: folder.fold(rows) };
    return cached.rows;
  };
  m.counter('syscalls_total', `system calls that returned, by syscall and ${by.by} (the top ${by.top}, the rest "other")`, () =>
    read().map((r) => ({ labels: r.labels, value: r.values[0] })));
  m.counter('syscall_errors_total', `system calls that returned an error (below 0), by syscall and ${by.by}`, () =>
    read().map((r) => ({ labels: r.labels, value: r.values[1] })));
}

export const tool: AggregationCommand<SyscountArgs, SetupOptions, SyscountHandle, SyscountSnapshot> = {
  name: 'syscount',
  spec,
  instead(ctx) {
    if (!ctx.args.list) return false;
    for (const l of syscallTableLines()) ctx.out.line(l);
    return true;
  },
  options: (a) => ({
    latency: a.latency, hist: a.hist, failures: a.failures, errno: a.errno, syscall: a.syscall?.split(','), process: a.process, top: a.top,
  }),
  setup,
  snapshot: (h, now) => toSnapshot(now, h.counts.syscalls(), h.counts.processes(), h.hist ? h.counts.hists() : new Map(), h),
  report(h, a: SyscountArgs & CommonArgs, run, ctx) {
    const { counts, latency, names, top } = h;
    const prevSys = new Map<number, Totals>();
    const prevProc = new Map<number, Totals>();
    const prevHist = new Map<number, number[]>();
    const unit = a.milliseconds ? 'ms' : 'us';
    const div = a.milliseconds ? 1e6 : 1e3;
    const t3 = (ns: number) => (ns / div).toFixed(3);
    const latCols = latency ? [`TOTAL(${unit})`, `AVG(${unit})`] : [];
    const lat = (t: Totals) => (latency ? [t3(t.total_ns), t3(t.count ? t.total_ns / t.count : 0)] : []);
    const out = ctx.out;
    return ({ now, interval_s }) => {
      const sys = delta(counts.syscalls(), prevSys);
      const procs = delta(counts.processes(), prevProc);
      const hists = a.hist ? histDelta(counts.hists(), prevHist) : new Map<number, number[]>();
      if (a.json) {
        out.line(JSON.stringify(toSnapshot(now, sys, procs, hists, h, interval_s)));
        return;
      }
      const sysRows = rank(sys, latency, top);
      const procRows = rank(procs, latency, top);
      if (run.intervalS !== undefined) out.line(intervalHeader(now));
      if (!a.process) {
        out.line(table(['SYSCALL', 'COUNT', 'ERRORS', ...latCols], sysRows.map(([nr, t]) => [syscallName(nr, names), t.count, t.errors, ...lat(t)]),
          ['left', 'right', 'right', 'right', 'right']));
        out.line('');
      }
      out.line(table(['PID', 'COMM', 'COUNT', 'ERRORS', ...latCols], procRows.map(([pid, t]) => [pid, tableText(t.comm), t.count, t.errors, ...lat(t)]),
        ['right', 'left', 'right', 'right', 'right', 'right']));
      if (a.hist) {
        for (const [nr] of sysRows) {
          const slots = hists.get(nr);
          if (slots) out.line('\n' + log2Hist(slots, { title: `${syscallName(nr, names)} (usecs):` }).trimEnd());
        }
      }
      out.line('');
    };
  },
  ready: (_h, a) => `Tracing ${a.failures ? 'failed ' : ''}${a.errno ? `${a.errno} ` : ''}syscalls`,
  register: (m, h, _a, by) => register(m, { ...h, by }),
};

/** The exporter's options for syscount (its config file), named as the command's options. */
export interface SyscountMetricsOptions {
  /** -L: bpf_recipes_syscall_duration_seconds too */
  latency?: boolean;
  /** --syscall: only these (comma-separated names or numbers) */
  syscall?: string;
  /** --metrics-by: comm or cgroup */
  metricsBy?: string;
  /** --metrics-top: how many comms or cgroups keep their label (default 20) */
  metricsTop?: number;
}

/** The exporter's typed entry (`@bpf-recipes/syscount/metrics`): counting only, the command's setup and --syscall parser. */
export const metrics: ToolMetrics<Session, SyscountMetricsOptions, SyscountMaps> = {
  options: { latency: 'boolean', syscall: 'string', metricsBy: 'string', metricsTop: 'number' },
  open(session, o) {
    const by = parseMetricsBy('syscount', o.metricsBy, o.metricsTop, { by: 'syscount.metricsBy', top: 'syscount.metricsTop' });
    // -L keeps the histogram for the duration series
    return { ...setup(session, { latency: Boolean(o.latency), ...(o.syscall !== undefined && { syscall: [o.syscall] }) }, { metrics: true, by }), by };
  },
  register,
};

/**
 * Count syscalls in the kernel from now on: `const a = start({ latency: true }); ... a.snapshot()`
 * gives what one `syscount --json` line holds for the time since start. Throws
 * PreflightError/UsageError/LoadError/AttachError; close() detaches.
 */
export const start = (options: SyscountOptions = {}): Aggregation<SyscountSnapshot> => startTool(tool, options);
