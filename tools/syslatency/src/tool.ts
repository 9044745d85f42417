/**
 * syslatency, declared once: its option table, how the options become the object's config (BTF
 * tracepoints, else the classic ones), how the kernel's histograms are read (the typed API's
 * start() and snapshot()) and how a report prints (histograms, stacks, --json). The command
 * (main.ts: runAggregationTool), start(), --help and the man page all come from here. The kernel
 * side is bpf/syslatency.bpf.c; the skeleton and the map records are generated from its BTF.
 */
import type { AggregationCommand, CommonArgs, ToolSpec } from '@bpf-recipes/cli';
import {
  intervalOption, loadPreferringBtf, note, packageVersion, parseTimeNs, startTool, type Aggregation, type CommonTraceOptions, type Session,
} from '@bpf-recipes/runtime';
import { UsageError } from '@bpf-recipes/core';
import { intervalHeader, isoTime, jsonFields, log2Hist, parseSyscalls, syscallBitmap, syscallExitConfig, syscallName, syscallTable, syscallTableLines, tableText } from '@bpf-recipes/format';
import {
  MissedStacks, StackNamer, checkInterval, finishUnwind, missedNotes, parseStackArgs, sizeUnwindMaps, stackArgsOf, startUnwinder, unwindChoice,
  type FlameFrame, type Missed, type StackOptions, type StackRow, type UserUnwinder,
} from '@bpf-recipes/stacks';
import { USER_STACKS_NOTE, stackOptionSpecs, type StackArgs } from '@bpf-recipes/stacks/options';
import { StackWriter, stackTextLines } from '@bpf-recipes/stacks/writer';
import {
  HIST_SIZE, SYSLATENCY_HIST_SLOTS, SYSLATENCY_MAX_KEYS, SYSLATENCY_MAX_NR, SYSLATENCY_MISSED_STACK, SYSLATENCY_STACK_KEYS_MIN, SyslatencyBy, SyslatencyMissed, SyslatencySkel,
  decodeHist, decodeHistKey, decodeStackKey,
} from './generated/syslatency.js';

const stack = stackOptionSpecs('total latency in microseconds');

export const spec: ToolSpec = {
  name: 'syslatency',
  version: packageVersion(import.meta.url),
  summary: 'Syscall latency as log2 histograms, per program name (or process, thread, syscall), aggregated in the kernel and printed every interval.',
  positionals: true,
  usage: '[SYSCALL...] [options]',
  examples: [
    ['syslatency pwritev pwritev2 -i 30', 'pwritev(2) latency per program, every 30 seconds (the talk\'s recipe; glibc\'s pwritev() may be pwritev2)'],
    ['syslatency', 'every syscall, one histogram per program, printed at Ctrl-C'],
    ['syslatency read write -p 181 --by syscall', 'read and write of PID 181, one histogram per syscall'],
    ['syslatency fsync fdatasync -m -d 60', 'in milliseconds, for one minute'],
    ['syslatency --by tid -n postgres', 'one histogram per thread of the programs whose name contains postgres'],
    ['syslatency nanosleep --json -i 1', 'one JSON object per program per second'],
    ['syslatency pwritev pwritev2 --by ustack --min 100ms -m', 'the talk\'s "I/O latency correlated with stack": one histogram per user stack, calls of 100 ms or more only'],
    ['syslatency read --by stack --min 10ms -p 181 --format svg -o slow.svg', 'a flame graph of the slow reads of PID 181, weighted by their latency'],
    ['syslatency -l', 'print the syscall table of this architecture'],
  ],
  options: {
    interval: intervalOption('the calls'),
    by: {
      type: 'string',
      arg: 'comm|pid|tid|syscall|ustack|kstack|stack',
      describe: 'one histogram per program name (comm, the default), process, thread, syscall, or stack: the user stack that made the call (ustack), the kernel stack at its return (kstack), or both (stack), with its syscall',
    },
    min: { type: 'string', arg: 'TIME', describe: 'count only calls at least this long: a number with a unit (100ms, 500us, 2s) or microseconds; default 0. With a stack --by, faster calls cost no stack walk' },
    milliseconds: { alias: 'm', type: 'boolean', describe: 'histograms in milliseconds (default: microseconds)' },
    list: { alias: 'l', type: 'boolean', describe: 'print the syscall table (number and name) and exit' },
    'per-process': { ...stack['per-process'], describe: 'with a stack --by: one histogram per process (PID) instead of per program name (comm)' },
    'stack-storage-size': stack['stack-storage-size'],
    format: {
      ...stack.format,
      describe:
        'with a stack --by: text (frames leaf first, the comm, the histogram; the default); folded: `comm;root;...;leaf;SYSCALL(2) US` per line, ' +
        'weighted by the total latency in microseconds (flamegraph.pl); speedscope, pprof (two sample types: latency in microseconds, calls) or svg: one profile written at the end',
    },
    output: stack.output,
    'frame-pointers': stack['frame-pointers'],
    'unwind-memory': stack['unwind-memory'],
  },
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'timestamp', 'json', 'verbose'],
  notes:
    'SYSCALL is a name of this architecture\'s table (syslatency -l) or a number; none: every syscall. A call is timed ' +
    'from raw_syscalls:sys_enter to sys_exit (BTF tracepoints, the classic tracepoints where those are missing), with ' +
    'the start time in task-local storage, and counted once, in the kernel, in a per-CPU histogram of its key: a ' +
    'fork-like call (clone, clone3, fork, vfork) returns twice and is counted once; rt_sigreturn exits under ' +
    'syscall number -1 and is counted as rt_sigreturn; a call that never returns (exit, exit_group) is not counted, ' +
    'nor a call entered before the tool attached. The ' +
    'filters apply at entry: a call is counted when the task that made it passed them. --by comm keys by the ' +
    'name at the call\'s return (an execve shows under the new program\'s name). Slots are log2 of the latency ' +
    'in microseconds (milliseconds with -m): [16, 32) holds 16 to 31. With -i each print holds the calls since ' +
    'the previous one; -T adds a [HH:MM:SS] line above each print (always there with -i). ' +
    '--min drops faster calls in the kernel, for every --by. --by ustack, kstack and stack key each histogram by ' +
    '(program name, syscall, stacks); the stacks are walked at the call\'s return, and only for a call that passed ' +
    '--min. The user stack is the one that made the call (the task is still in it); the kernel stack at the return is ' +
    'the return path of the syscall, the same for most calls. Stacks are named as the stack tools name them (stackcount, ' +
    'profile): kernel frames from /proc/kallsyms, user frames through the process\'s maps, ELF symbols, debug files and ' +
    'JIT perf maps. ' + USER_STACKS_NOTE + 'Stacks that could not be stored are counted under [missed ... stack] and reported on stderr.',
};

export interface SyslatencyArgs extends Omit<StackArgs, 'kernel' | 'user'> {
  min?: string;
  interval?: string;
  by?: string;
  milliseconds?: boolean;
  list?: boolean;
}

export const BY = ['comm', 'pid', 'tid', 'syscall', 'ustack', 'kstack', 'stack'] as const;
export type By = (typeof BY)[number];
/** the --by values that key by stack */
export const STACK_BY: readonly By[] = ['ustack', 'kstack', 'stack'];
const BY_CONFIG: Record<By, SyslatencyBy> = {
  comm: SyslatencyBy.SYSLATENCY_BY_COMM,
  pid: SyslatencyBy.SYSLATENCY_BY_PID,
  tid: SyslatencyBy.SYSLATENCY_BY_TID,
  syscall: SyslatencyBy.SYSLATENCY_BY_SYSCALL,
  ustack: SyslatencyBy.SYSLATENCY_BY_USTACK,
  kstack: SyslatencyBy.SYSLATENCY_BY_KSTACK,
  stack: SyslatencyBy.SYSLATENCY_BY_STACK,
};

/** The typed API's options: the command's, by their long names. */
export interface SyslatencyOptions extends CommonTraceOptions {
  /** syscall names (or numbers) to time; every syscall when undefined or empty (`SYSCALL...`) */
  syscalls?: string[];
  /** one histogram per program name (default), process, thread or syscall (`--by`) */
  by?: By;
  /** slots in milliseconds instead of microseconds (`-m`) */
  milliseconds?: boolean;
  /** count only calls at least this long (`--min`): microseconds, or a string with a unit ('100ms') */
  min?: number | string;
  /** --by ustack/kstack/stack: one histogram per process (PID) instead of per program name (`-P`) */
  perProcess?: boolean;
  /** --by ustack/kstack/stack: how many distinct stacks the kernel keeps (`--stack-storage-size`, default 16384) */
  stackStorageSize?: number;
  /** --by ustack/stack: walk user stacks by frame pointers only (`--frame-pointers`); default: call-frame information */
  framePointers?: boolean;
  /** --by ustack/stack: MiB for the call-frame tables (`--unwind-memory`, default 16) */
  unwindMemoryMb?: number;
}

/** One key's histogram. */
export interface Histogram {
  /** --by comm (and the name seen last with pid/tid) */
  comm?: string;
  pid?: number;
  tid?: number;
  /** --by syscall and the stacks: the name, and its number */
  syscall?: string;
  id?: number;
  /** --by kstack/stack: the kernel stack at the call's return, leaf first (empty: none) */
  kernel?: string[];
  /** --by ustack/stack: the user stack that made the call, leaf first (empty: none, a kernel thread) */
  user?: string[];
  /** calls per log2 slot of the latency in `unit`: slot 0 holds 0, slot 1 holds 1, slot k holds [2^(k-1), 2^k) */
  slots: number[];
  /** calls (the sum of the slots) */
  count: number;
  /** their latency added up, in nanoseconds */
  total_ns: number;
}

/** What the kernel counted since start (totals). */
export interface Snapshot {
  by: By;
  unit: 'us' | 'ms';
  histograms: Histogram[];
  /** calls not counted because the kernel's table of keys was full */
  missed: number;
  /** --by ustack/kstack/stack: stacks that could not be stored (their calls are counted under a [missed ... stack] frame) */
  missed_stacks?: Pick<Missed, 'kernel_stacks' | 'user_stacks'>;
}

/** A histogram of --by ustack/kstack/stack with its frames as the flame formats want them (module included). */
export interface StackHistogram extends Histogram {
  syscall: string;
  id: number;
  kernelFrames?: FlameFrame[];
  userFrames?: FlameFrame[];
}

/** Validated options (UsageError on bad input). */
export function checkOptions(o: SyslatencyOptions): { by: By; nrs: number[] | undefined; minNs: bigint; storage: number; stacks: boolean; unwindMemoryMb: number } {
  const by = o.by ?? 'comm';
  if (!BY.includes(by)) throw new UsageError(`--by: '${String(by)}' is not one of ${BY.join(', ')}`);
  const nrs = o.syscalls?.length
    ? parseSyscalls(o.syscalls, syscallTable(), { what: '', hint: ' (syslatency -l lists them)', max: SYSLATENCY_MAX_NR })
    : undefined;
  const minNs = o.min === undefined ? 0n : parseTimeNs('--min', o.min);
  const stacks = STACK_BY.includes(by);
  // the stack options, checked as the stack tools check them
  const so = parseStackArgs(stackArgsOf(o), false);
  if (!stacks && o.perProcess) throw new UsageError(`-P/--per-process splits the stacks of --by ${STACK_BY.join('|')}: with --by ${by} use --by pid`);
  for (const [given, opt] of [[o.stackStorageSize, '--stack-storage-size'], [o.framePointers, '--frame-pointers'], [o.unwindMemoryMb, '--unwind-memory']] as const) {
    if (!stacks && given !== undefined) throw new UsageError(`${opt} is about the stacks of --by ${STACK_BY.join('|')}: give one of those`);
  }
  return { by, nrs, minNs, storage: so.storage, stacks, unwindMemoryMb: so.unwindMemoryMb };
}

/** A stable key of a histogram (the same comm, pid, tid, syscall or stack in two snapshots). */
export function histogramKey(h: Histogram): string {
  if (h.kernel !== undefined || h.user !== undefined) return JSON.stringify([h.pid, h.comm, h.syscall, h.kernel, h.user]);
  return String(h.syscall ?? h.tid ?? h.pid ?? h.comm);
}

/** What setup() hands back: the reader of the histograms, and for the stacks the naming of new ones. */
export interface Syslatency {
  by: By;
  unit: 'us' | 'ms';
  /** --by ustack/kstack/stack: entries of the kernel's map of histograms */
  keysMax: number;
  /** the totals since start, named */
  snapshot(): Snapshot;
  /** --by ustack/kstack/stack: the totals with their frames (modules kept), merged by comm (or PID with perProcess) */
  stackHistograms(): StackHistogram[];
  /** name the stacks not named yet (call it every second: a process that exits keeps its names) */
  nameNew(): void;
  missedStacks?: MissedStacks;
  /** the call-frame unwinder's tables (--by ustack/stack without --frame-pointers) */
  unwinder?: UserUnwinder;
}

/**
 * Open, configure, load and attach on the session; returns the reader of the histograms. The
 * session's common filters apply at syscall entry.
 */
export function setup(session: Session, o: SyslatencyOptions): Syslatency {
  const { by, nrs, minNs, storage, stacks, unwindMemoryMb } = checkOptions(o);
  const unwind = unwindChoice({ user: stacks && by !== 'kstack', storage, framePointers: o.framePointers, unwindMemoryMb });
  let unwinder: UserUnwinder | undefined;
  const names = syscallTable();
  const unit = o.milliseconds ? 'ms' : 'us';
  const config = {
    cfg_by: BY_CONFIG[by],
    cfg_unit_ns: o.milliseconds ? 1_000_000 : 1000,
    cfg_min_ns: minNs,
    cfg_unwind: unwind.unwind,
    cfg_filter_syscalls: nrs !== undefined,
    cfg_syscalls: syscallBitmap(nrs ?? [], SYSLATENCY_MAX_NR / 8),
    ...syscallExitConfig(names),
  };
  const keysMax = Math.max(SYSLATENCY_STACK_KEYS_MIN, storage);
  const skel = loadPreferringBtf(session, (btf) => {
    const s = session.open(SyslatencySkel, new URL('../bpf/syslatency.bpf.o', import.meta.url), config);
    const { progs, maps } = s;
    for (const p of [progs.syslatency_btf_enter, progs.syslatency_btf_exit]) s.obj.setAutoload(p.name, btf);
    for (const p of [progs.syslatency_tp_enter, progs.syslatency_tp_exit]) s.obj.setAutoload(p.name, !btf);
    // the start times of the hooks not loaded are never used
    s.obj.setMaxEntries(maps.start_tid, btf ? 1 : 10240);
    // one of the two maps of histograms is used
    s.obj.setMaxEntries(maps.hists, stacks ? 1 : SYSLATENCY_MAX_KEYS);
    s.obj.setMaxEntries(maps.stack_hists, stacks ? keysMax : 1);
    s.obj.setMaxEntries(maps.stacks, stacks ? storage : 1);
    sizeUnwindMaps(s.obj, maps, unwind);
    session.loadAndAttach(s, { attach: false });
    // the tables of -p's processes before the first call: their stacks are whole
    unwinder = startUnwinder(maps, unwind, session.options.filters?.pids, (m) => session.verbose(m), session.options.command?.argv);
    session.verbose(`attached ${s.obj.attachAll().join(', ')}`);
    return s;
  });
  const { hists, stack_hists, missed } = skel.maps;
  const missedKey = Buffer.alloc(4);
  missedKey.writeUInt32LE(SyslatencyMissed.SYSLATENCY_MISSED_COUNTS);
  const missedCalls = () => missed.sumU64(missedKey);

  /** the per-CPU values of a key, added up (undefined: gone meanwhile) */
  const sum = (map: typeof hists, k: Buffer): { slots: number[]; total_ns: number; comm: string } | undefined => {
    let values: Buffer[];
    try {
      values = map.lookupPerCpu(k);
    } catch {
      return undefined; // gone between keys() and lookup (never deleted while tracing; but a closed map)
    }
    const out = { slots: new Array<number>(SYSLATENCY_HIST_SLOTS).fill(0), total_ns: 0, comm: '' };
    for (const v of values) {
      if (v.length < HIST_SIZE) continue;
      const c = decodeHist(v, 0);
      for (let i = 0; i < SYSLATENCY_HIST_SLOTS; i++) out.slots[i] += c.slots[i];
      out.total_ns += c.total_ns;
      if (out.comm === '' && c.comm) out.comm = c.comm;
    }
    return out;
  };
  const count = (slots: number[]) => slots.reduce((a, b) => a + b, 0);

  if (!stacks) {
    return {
      by,
      unit,
      keysMax: SYSLATENCY_MAX_KEYS,
      stackHistograms: () => [],
      nameNew: () => undefined,
      snapshot: () => {
        const out = new Map<string, Histogram>();
        for (const k of hists.keys()) {
          const key = decodeHistKey(k, 0);
          const c = sum(hists, k);
          if (!c) continue;
          const h: Histogram =
            by === 'comm' ? { comm: key.comm, slots: c.slots, count: 0, total_ns: c.total_ns }
            : by === 'syscall' ? { syscall: syscallName(key.id, names), id: key.id, slots: c.slots, count: 0, total_ns: c.total_ns }
            : { ...(by === 'pid' ? { pid: key.id } : { tid: key.id }), comm: c.comm, slots: c.slots, count: 0, total_ns: c.total_ns };
          h.count = count(h.slots);
          if (h.count) out.set(histogramKey(h), h);
        }
        return { by, unit, histograms: [...out.values()], missed: missedCalls() };
      },
    };
  }

  // --by ustack/kstack/stack
  const withKernel = by !== 'ustack';
  const withUser = by !== 'kstack';
  const namer = new StackNamer({
    stacks: skel.maps.stacks, ...(unwinder ? { userStacks: skel.maps.unwind_stacks, unwinder } : {}), kernel: withKernel, user: withUser, missedId: SYSLATENCY_MISSED_STACK, tool: session.options.tool,
    note: (m) => session.note(m), verbose: (m) => session.verbose(m),
  });
  const missedStacks = new MissedStacks(missed, { kernel: SyslatencyMissed.SYSLATENCY_MISSED_KERNEL, user: SyslatencyMissed.SYSLATENCY_MISSED_USER, counts: SyslatencyMissed.SYSLATENCY_MISSED_COUNTS });
  const named = new Set<string>();
  const frameNames = (fs: FlameFrame[] | undefined) => fs?.map((f) => f.name);
  const nameNew = () => {
    unwinder?.refresh(); // processes new to the unwinder (started, exec'd, dlopen'd since): their tables
    for (const k of stack_hists.keys()) {
      const id = k.toString('hex');
      if (named.has(id)) continue;
      const key = decodeStackKey(k, 0);
      namer.kernel(key.kstack);
      namer.user(key.pid, key.ustack);
      named.add(id);
    }
    namer.prune();
  };
  const stackHistograms = (): StackHistogram[] => {
    const out = new Map<string, StackHistogram>();
    for (const k of stack_hists.keys()) {
      const key = decodeStackKey(k, 0);
      const c = sum(stack_hists, k);
      if (!c) continue;
      named.add(k.toString('hex'));
      const kernelFrames = namer.kernel(key.kstack);
      const userFrames = namer.user(key.pid, key.ustack);
      const h: StackHistogram = {
        ...(o.perProcess ? { pid: key.pid } : {}),
        comm: c.comm,
        syscall: syscallName(key.nr, names),
        id: key.nr,
        ...(kernelFrames ? { kernel: frameNames(kernelFrames), kernelFrames } : {}),
        ...(userFrames ? { user: frameNames(userFrames), userFrames } : {}),
        slots: c.slots,
        count: count(c.slots),
        total_ns: c.total_ns,
      };
      if (!h.count) continue;
      // merged by what is printed: comm (or PID), syscall, frame names
      const at = histogramKey(h);
      const m = out.get(at);
      if (!m) out.set(at, h);
      else {
        for (let i = 0; i < SYSLATENCY_HIST_SLOTS; i++) m.slots[i] += h.slots[i];
        m.count += h.count;
        m.total_ns += h.total_ns;
      }
    }
    namer.prune();
    return [...out.values()];
  };
  return {
    by,
    unit,
    keysMax,
    stackHistograms,
    nameNew,
    missedStacks,
    ...(unwinder ? { unwinder } : {}),
    snapshot: () => {
      const histograms = stackHistograms().map(({ kernelFrames: _k, userFrames: _u, ...h }): Histogram => h);
      const t = missedStacks.total();
      return { by, unit, histograms, missed: t.counts, missed_stacks: { kernel_stacks: t.kernel_stacks, user_stacks: t.user_stacks } };
    },
  };
}

/** A slot's bounds in the histogram's unit: [low, high); the last slot has no upper bound. */
function bucket(slot: number, last: boolean): { low: number; high: number | null } {
  const low = slot === 0 ? 0 : 2 ** (slot - 1);
  return { low, high: last ? null : slot === 0 ? 1 : 2 ** slot };
}

/** What the command makes before attaching: the stack options as parsed, and with a stack --by the writer of its formats (-o's file created). */
interface Prepared {
  so: StackOptions;
  writer?: StackWriter;
}

/** The --by of the command line (checked). */
function byOf(a: SyslatencyArgs): By {
  const by = (a.by ?? 'comm') as By;
  if (!BY.includes(by)) throw new UsageError(`--by: '${a.by}' is not one of ${BY.join(', ')}`);
  return by;
}

export const tool: AggregationCommand<SyslatencyArgs, SyslatencyOptions, Syslatency, Snapshot, Prepared> = {
  name: 'syslatency',
  spec,
  instead(ctx) {
    if (!ctx.args.list) return false;
    if (ctx.positionals.length) throw new UsageError('-l lists every syscall: name none');
    for (const l of syscallTableLines()) ctx.out.line(l);
    return true;
  },
  options(a: SyslatencyArgs & CommonArgs, run, ctx) {
    const by = byOf(a);
    if (!STACK_BY.includes(by)) {
      for (const o of ['format', 'output'] as const) if (a[o] !== undefined) throw new UsageError(`--${o} writes stacks: give --by ${STACK_BY.join('|')} with it`);
    }
    const so = parseStackArgs({ ...a, kernel: undefined, user: undefined });
    checkInterval(so, run.intervalS);
    return {
      syscalls: ctx.positionals, by, milliseconds: a.milliseconds, min: a.min, perProcess: a['per-process'],
      ...(a['stack-storage-size'] !== undefined ? { stackStorageSize: so.storage } : {}),
      ...(a['frame-pointers'] !== undefined ? { framePointers: so.framePointers } : {}),
      ...(a['unwind-memory'] !== undefined ? { unwindMemoryMb: so.unwindMemoryMb } : {}),
    };
  },
  prepare(a, _run, ctx) {
    const so = parseStackArgs({ ...a, kernel: undefined, user: undefined });
    if (!STACK_BY.includes(byOf(a))) return { so };
    // -o: the file is created once the arguments are known good, before anything is attached
    const writer = new StackWriter({
      tool: spec.name, options: so, stdout: ctx.out, countName: 'us', sampleType: 'latency', unit: 'microseconds',
      more: [{ sampleType: 'calls', unit: 'count' }],
    });
    writer.open();
    return { so, writer };
  },
  setup: (session, o) => setup(session, o),
  snapshot: (t) => t.snapshot(),
  report(t, a, run, ctx, { so, writer }) {
    const { by } = t;
    const byStack = STACK_BY.includes(by);
    const intervalS = run.intervalS;
    const unit = a.milliseconds ? 'ms' : 'us';
    const unitWord = a.milliseconds ? 'msecs' : 'usecs';
    const out = writer?.lines ?? ctx.out;
    const startedAt = Date.now();
    const prev = new Map<string, Histogram>();
    let missedSeen = 0;

    /** what each key counted since the previous print (the kernel's totals only grow) */
    const deltas = <H extends Histogram>(hs: H[]): H[] => {
      const out: H[] = [];
      for (const h of hs) {
        const k = histogramKey(h);
        const p = prev.get(k);
        prev.set(k, h);
        const slots = h.slots.map((c, i) => c - (p?.slots[i] ?? 0));
        const count = h.count - (p?.count ?? 0);
        if (count > 0) out.push({ ...h, slots, count, total_ns: h.total_ns - (p?.total_ns ?? 0) });
      }
      return out.sort((x, y) => (byStack ? y.total_ns - x.total_ns : 0) || y.count - x.count || histogramKey(x).localeCompare(histogramKey(y)));
    };
    const title = (h: Histogram): string => {
      const who =
        byStack ? `${h.syscall}(2)`
        : by === 'comm' ? `comm = ${tableText(h.comm ?? '')}`
        : by === 'syscall' ? `syscall = ${h.syscall}`
        : `${by} = ${h.pid ?? h.tid} (${tableText(h.comm ?? '')})`;
      return `${who}, ${h.count} call${h.count === 1 ? '' : 's'}, latency (${unitWord}):`;
    };
    /** a stack's row for the flame formats: the syscall a frame between the user and the kernel frames; weight µs, calls beside */
    const row = (h: StackHistogram): StackRow => {
      const sys = { name: `${h.syscall}(2)` };
      return {
        ...(h.pid !== undefined ? { pid: h.pid } : {}),
        comm: tableText(h.comm ?? ''),
        ...(h.userFrames ? { user: [sys, ...h.userFrames] } : {}),
        ...(h.kernelFrames ? { kernel: h.userFrames ? h.kernelFrames : [...h.kernelFrames, sys] } : {}),
        count: Math.round(h.total_ns / 1000),
        more: [h.count],
      };
    };
    const buckets = (h: Histogram) => {
      const last = h.slots.length - 1;
      return h.slots.flatMap((count, s) => (count ? [{ ...bucket(s, s === last), count }] : []));
    };
    const header = (now: number) => {
      if (intervalS !== undefined || a.timestamp) out.line(intervalHeader(now));
    };

    return ({ now, interval_s }) => {
      const when = interval_s !== undefined ? { interval_s } : {};
      if (byStack) {
        const hs = deltas(t.stackHistograms());
        const m = t.missedStacks!.sinceLastCall();
        if (so.json) {
          for (const h of hs) {
            out.line(JSON.stringify({
              time: isoTime(now), ...when,
              ...(h.pid !== undefined ? { pid: h.pid } : {}),
              ...jsonFields('comm', h.comm ?? ''),
              syscall: h.syscall, id: h.id,
              ...(h.kernel ? { kernel: h.kernel } : {}),
              ...(h.user ? { user: h.user } : {}),
              unit, count: h.count, total_ns: h.total_ns, buckets: buckets(h),
            }));
          }
        } else if (so.format === 'text') {
          header(now);
          if (hs.length === 0) out.line('(no calls)');
          for (const h of hs) {
            for (const l of stackTextLines({ ...h, comm: tableText(h.comm ?? ''), kernel: h.kernelFrames, user: h.userFrames })) out.line(l);
            out.line(log2Hist(h.slots, { title: `    ${title(h)}` }));
          }
        } else {
          writer!.write(hs.map(row), { name: `syslatency --by ${by}${a.min !== undefined ? ` --min ${a.min}` : ''}`, startMs: startedAt, durationMs: now - startedAt });
        }
        out.flush();
        for (const line of missedNotes(spec.name, m, t.keysMax, 'calls')) note(line);
        return;
      }
      const snap = t.snapshot();
      if (snap.missed > missedSeen) {
        note(`syslatency: ${snap.missed - missedSeen} calls not counted: the kernel's table of ${by} keys is full`);
        missedSeen = snap.missed;
      }
      const hs = deltas(snap.histograms);
      if (a.json) {
        for (const h of hs) {
          out.line(JSON.stringify({
            time: isoTime(now), ...when,
            ...(by === 'comm' ? jsonFields('comm', h.comm ?? '') : {}),
            ...(by === 'pid' ? { pid: h.pid, ...jsonFields('comm', h.comm ?? '') } : {}),
            ...(by === 'tid' ? { tid: h.tid, ...jsonFields('comm', h.comm ?? '') } : {}),
            ...(by === 'syscall' ? { syscall: h.syscall, id: h.id } : {}),
            unit,
            count: h.count,
            total_ns: h.total_ns,
            buckets: buckets(h),
          }));
        }
      } else {
        header(now);
        if (hs.length === 0) out.line('(no calls)');
        for (const h of hs) out.line(log2Hist(h.slots, { title: title(h) }));
      }
    };
  },
  // with stacks, name new ones every second: a process that exits before the print keeps its names
  started(t, ctx) {
    if (STACK_BY.includes(t.by)) ctx.every(1000, () => t.nameNew());
  },
  stopped: (t, ctx) => finishUnwind(t.unwinder, spec.name, note, (m) => ctx.session.verbose(m)),
  ready(t, a, ctx) {
    const what = ctx.positionals.length ? ctx.positionals.join(', ') : 'syscall';
    return `Tracing ${what} latency by ${t.by}${a.min !== undefined ? `, calls >= ${a.min}` : ''}`;
  },
};

/**
 * Start timing syscalls in the kernel; snapshot() reads the histograms (totals since start),
 * close() detaches. Throws UsageError (bad options), PreflightError, LoadError or AttachError,
 * with nothing left attached. `log` receives -v's lines when `verbose` is set.
 */
export const start = (options: SyslatencyOptions = {}, log?: (message: string) => void): Aggregation<Snapshot> => startTool(tool, options, log);
