/**
 * stackcount's tracing, shared by the command (src/main.ts, through ctx.session) and the typed API
 * (start()): open the skeleton, set its typed config, size its maps, attach to the tracepoint, and
 * read the counts (named by libs/stacks).
 */
import { aggregation, sessionOptions, type Aggregation, type CommonTraceOptions, type Session } from '@bpf-recipes/runtime';
import { UsageError, tracefsRoot, tracepointExists } from '@bpf-recipes/core';
import { MissedStacks, StackNamer, StackTable, parseStackArgs, sizeUnwindMaps, stackArgsOf, startUnwinder, unwindChoice, type Missed, type StackEntry, type StackRow, type UserUnwinder } from '@bpf-recipes/stacks';
import { STACKCOUNT_COUNTS_MIN, STACKCOUNT_MISSED_STACK, StackcountMissed, StackcountSkel, decodeStackKey, decodeStackVal } from './generated/stackcount.js';
import { parseTracepoint, type Tracepoint } from './args.js';

/** What setup() needs, parsed and checked. */
export interface StackcountConfig {
  tracepoint: Tracepoint;
  /** capture kernel stacks (not -U) */
  kernel: boolean;
  /** capture user stacks (not -K) */
  user: boolean;
  /** one row per PID instead of per program name (-P) */
  perProcess: boolean;
  /** entries of the stack map */
  storage: number;
  /** walk user stacks by frame pointers only (--frame-pointers) */
  framePointers?: boolean;
  /** MiB for the call-frame tables (--unwind-memory) */
  unwindMemoryMb?: number;
}

/** What the command reads after setup(). */
export interface Counter {
  readonly config: StackcountConfig;
  readonly namer: StackNamer;
  /** the counts map, named and merged for printing (nameNew() every second; take()/all()) */
  readonly table: StackTable;
  readonly missed: MissedStacks;
  /** entries of the counts map */
  readonly countsMax: number;
  /** the call-frame unwinder's tables (undefined with --frame-pointers or -K): refresh() every second */
  readonly unwinder: UserUnwinder | undefined;
}

/**
 * Open, configure and attach on `session`; returns the readers of its maps. `checked` runs once the
 * tracepoint is known to exist, before anything is loaded (the command creates its -o file there).
 */
export function setup(session: Session, c: StackcountConfig, checked?: () => void): Counter {
  const { category, event } = c.tracepoint;
  const unwind = unwindChoice(c);
  const skel = session.open(StackcountSkel, new URL('../bpf/stackcount.bpf.o', import.meta.url), { cfg_kernel: c.kernel, cfg_user: c.user, cfg_unwind: unwind.unwind });
  const { maps, progs } = skel;
  // checked after open(): its preflight says first when tracefs cannot be read at all
  if (!tracepointExists(category, event)) {
    throw new UsageError(`no tracepoint ${category}:${event} on this kernel (list them: ls ${tracefsRoot() ?? '/sys/kernel/tracing'}/events/${category}/)`);
  }
  checked?.();
  const countsMax = Math.max(STACKCOUNT_COUNTS_MIN, c.storage);
  skel.obj.setMaxEntries(maps.stacks, c.storage);
  skel.obj.setMaxEntries(maps.counts, countsMax);
  sizeUnwindMaps(skel.obj, maps, unwind);
  session.loadAndAttach(skel, { attach: false });
  // the tables before the first sample: its stacks are whole
  const unwinder = startUnwinder(maps, unwind, session.options.filters?.pids, (m) => session.verbose(m));
  skel.obj.attachTracepoint(progs.stackcount_tp.name, category, event);
  session.verbose(`attached ${progs.stackcount_tp.name} to ${category}:${event}`);

  const namer = new StackNamer({ stacks: maps.stacks, ...(unwinder ? { userStacks: maps.unwind_stacks } : {}), kernel: c.kernel, user: c.user, missedId: STACKCOUNT_MISSED_STACK, tool: session.options.tool, note: (m) => session.note(m), verbose: (m) => session.verbose(m) });
  const entries = function* (): Generator<StackEntry> {
    for (const k of maps.counts.keys()) {
      const v = maps.counts.lookup(k);
      if (!v) continue;
      const key = decodeStackKey(k, 0);
      const val = decodeStackVal(v, 0);
      yield { id: k.toString('hex'), pid: key.pid, comm: val.comm, kstack: key.kstack, ustack: key.ustack, value: val.count };
    }
  };
  return {
    config: c,
    namer,
    table: new StackTable(namer, entries, c.perProcess),
    missed: new MissedStacks(maps.missed, { kernel: StackcountMissed.MISSED_KERNEL, user: StackcountMissed.MISSED_USER, counts: StackcountMissed.MISSED_COUNTS }),
    countsMax,
    unwinder,
  };
}

/** The typed API's options: the command's, by their long names in camelCase. */
export interface StackcountOptions extends CommonTraceOptions {
  /** the positional CATEGORY:EVENT, e.g. 'sched:sched_switch' */
  tracepoint: string;
  /** kernel stacks only (-K) */
  kernel?: boolean;
  /** user stacks only (-U) */
  user?: boolean;
  /** one stack per PID instead of per program name (-P); the stacks then carry `pid` */
  perProcess?: boolean;
  /** entries of the kernel's stack map (--stack-storage-size, default 16384) */
  stackStorageSize?: number;
  /** walk user stacks by frame pointers only (--frame-pointers); default: call-frame information */
  framePointers?: boolean;
  /** MiB for the call-frame tables (--unwind-memory, default 16) */
  unwindMemoryMb?: number;
}

/** One distinct stack in a snapshot, as a --json line names it. */
export interface CountedStack {
  /** only with perProcess */
  pid?: number;
  comm: string;
  /** times the tracepoint fired with this stack, since start */
  count: number;
  /** frame names, leaf first; absent when not captured (user: true), empty when the kernel had none */
  kernel?: string[];
  /** frame names, leaf first; absent when not captured (kernel: true), empty for kernel threads */
  user?: string[];
}

/** What start().snapshot() returns: the totals since start. */
export interface Snapshot {
  /** when the snapshot was taken (ms since the epoch) */
  time: number;
  /** CATEGORY:EVENT */
  tracepoint: string;
  /** most counted first */
  stacks: CountedStack[];
  /** stacks that could not be stored, events that could not be counted (counts map full) */
  missed: Missed;
}

/** The options as StackcountConfig (UsageError on bad input, as the command line gives it). */
export function stackcountConfig(o: Omit<StackcountOptions, keyof CommonTraceOptions>): StackcountConfig {
  if (typeof o.tracepoint !== 'string') throw new UsageError('name the tracepoint to count stacks at, as CATEGORY:EVENT (e.g. sched:sched_switch)');
  const tracepoint = parseTracepoint([o.tracepoint]);
  const so = parseStackArgs(stackArgsOf(o), false);
  return { tracepoint, kernel: so.kernel, user: so.user, perProcess: Boolean(o.perProcess), storage: so.storage, framePointers: so.framePointers, unwindMemoryMb: so.unwindMemoryMb };
}

const names = (fs: { name: string }[] | undefined) => fs?.map((f) => f.name);

/** A merged row as the API gives it: the shape of a --json stack (jsonStack). */
function counted(r: StackRow): CountedStack {
  const kernel = names(r.kernel);
  const user = names(r.user);
  return { ...(r.pid !== undefined ? { pid: r.pid } : {}), comm: r.comm, count: r.count, ...(kernel ? { kernel } : {}), ...(user ? { user } : {}) };
}

/**
 * Count stacks at a tracepoint until close(); snapshot() names what the kernel counted so far.
 * Throws UsageError (bad options, no such tracepoint), PreflightError, LoadError or AttachError, with
 * nothing left attached.
 */
export function start(options: StackcountOptions, log?: (message: string) => void): Aggregation<Snapshot> {
  const config = stackcountConfig(options ?? ({} as StackcountOptions));
  const tracepoint = `${config.tracepoint.category}:${config.tracepoint.event}`;
  return aggregation<Snapshot>(sessionOptions('stackcount', options, log), (session) => {
    const c = setup(session, config);
    return () => ({
      time: Date.now(),
      tracepoint,
      stacks: c.table.all().map(counted),
      missed: c.missed.total(),
    });
  });
}
