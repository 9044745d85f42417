/**
 * syslatency's tracing, shared by the command (main.ts) and the typed API (index.ts start()):
 * open the skeleton, set its typed config, load (BTF tracepoints, else the classic ones), attach,
 * and read the kernel's histograms.
 */
import { loadPreferringBtf, parseTimeNs, type CommonTraceOptions, type Session } from '@bpf-recipes/runtime';
import { UsageError } from '@bpf-recipes/core';
import { parseSyscalls, syscallBitmap, syscallExitConfig, syscallName, syscallTable } from '@bpf-recipes/format';
import { MissedStacks, StackNamer, parseStackArgs, sizeUnwindMaps, stackArgsOf, startUnwinder, unwindChoice, type FlameFrame, type Missed, type UserUnwinder } from '@bpf-recipes/stacks';
import {
  HIST_SIZE, SYSLATENCY_HIST_SLOTS, SYSLATENCY_MAX_KEYS, SYSLATENCY_MAX_NR, SYSLATENCY_MISSED_STACK, SYSLATENCY_STACK_KEYS_MIN, SyslatencyBy, SyslatencyMissed, SyslatencySkel,
  decodeHist, decodeHistKey, decodeStackKey,
} from './generated/syslatency.js';

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
    unwinder = startUnwinder(maps, unwind, session.options.filters?.pids, (m) => session.verbose(m));
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
    stacks: skel.maps.stacks, ...(unwinder ? { userStacks: skel.maps.unwind_stacks } : {}), kernel: withKernel, user: withUser, missedId: SYSLATENCY_MISSED_STACK, tool: session.options.tool,
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
