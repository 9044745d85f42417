/**
 * offcputime's tracing, shared by the command (src/main.ts) and the typed API (start()): open the
 * skeleton, set its typed config, size its maps, attach to sched_switch, and read the counts.
 */
import { aggregation, sessionOptions, type Aggregation, type CommonTraceOptions, type Session } from '@bpf-recipes/runtime';
import { MissedStacks, StackNamer, StackTable, parseStackArgs, stackArgsOf, sizeUnwindMaps, startUnwinder, unwindChoice, type Missed, type StackEntry, type UserUnwinder } from '@bpf-recipes/stacks';
import { OFFCPU_COUNTS_MIN, OFFCPU_MISSED_STACK, OffcputimeMissed, OffcputimeSkel, decodeOffcpuKey, decodeOffcpuVal } from './generated/offcputime.js';
import { parseBlockRange, parseState, type StateFilter } from './args.js';

/** What setup() needs, parsed and checked. */
export interface OffcpuConfig {
  kernel: boolean;
  user: boolean;
  state: StateFilter;
  minNs: bigint;
  maxNs: bigint;
  /** entries of the stack map */
  storage: number;
  /** merge per process in StackTable's rows (-P) */
  perProcess?: boolean;
  /** walk user stacks by frame pointers only (--frame-pointers) */
  framePointers?: boolean;
  /** MiB for the call-frame tables (--unwind-memory) */
  unwindMemoryMb?: number;
}

/** One distinct (process, kernel stack, user stack) and its time off CPU. */
export interface OffcpuStack {
  pid: number;
  comm: string;
  /** frame names, leaf first; left out when not captured (-U / -K) */
  kernel?: string[];
  user?: string[];
  /** microseconds off CPU, summed over its blocks */
  offcpu_us: number;
  /** how many blocks */
  blocks: number;
}

export interface Snapshot {
  /** largest first */
  stacks: OffcpuStack[];
  /**
   * totals since start: stacks that could not be stored, blocks that could not be added (counts
   * full), timed (starts: too many threads off CPU at once) or ended (ends: the thread came back on a
   * CPU with no sched_switch seen for it, so the block's time is unknown)
   */
  missed: Missed & BlockMisses;
}

export interface BlockMisses {
  starts: number;
  ends: number;
}

/** What the command reads after setup(). */
export interface Offcpu {
  namer: StackNamer;
  /** the counts map named and merged for printing (values in µs) */
  table: StackTable;
  missed: MissedStacks;
  /** the call-frame unwinder's tables (undefined with --frame-pointers or -K): refresh() every second */
  unwinder: UserUnwinder | undefined;
  /** blocks that could not be timed or whose end was not seen, since start */
  missedBlocks(): BlockMisses;
  countsMax: number;
  snapshot(): Snapshot;
}

/** Open, configure and attach on `session`; returns the readers of its maps. */
export function setup(session: Session, c: OffcpuConfig): Offcpu {
  const unwind = unwindChoice(c);
  const skel = session.open(OffcputimeSkel, new URL('../bpf/offcputime.bpf.o', import.meta.url), {
    cfg_kernel: c.kernel,
    cfg_user: c.user,
    cfg_state_mask: c.state.mask,
    cfg_state_raw: c.state.raw,
    cfg_min_ns: c.minNs,
    cfg_max_ns: c.maxNs,
    cfg_unwind: unwind.unwind,
  });
  const { maps, progs } = skel;
  const countsMax = Math.max(OFFCPU_COUNTS_MIN, c.storage);
  skel.obj.setMaxEntries(maps.stacks, c.storage);
  skel.obj.setMaxEntries(maps.counts, countsMax);
  sizeUnwindMaps(skel.obj, maps, unwind);
  session.loadAndAttach(skel, { attach: false });
  // the tables before the first switch: its stacks are whole
  const unwinder = startUnwinder(maps, unwind, session.options.filters?.pids, (m) => session.verbose(m));
  skel.obj.attachAll();
  session.verbose(`attached ${progs.offcputime_switch.name} (${progs.offcputime_switch.section})`);

  const namer = new StackNamer({ stacks: maps.stacks, ...(unwinder ? { userStacks: maps.unwind_stacks } : {}), kernel: c.kernel, user: c.user, missedId: OFFCPU_MISSED_STACK, tool: session.options.tool, note: (m) => session.note(m), verbose: (m) => session.verbose(m) });
  const read = function* (): Generator<StackEntry & { totalNs: number; blocks: number }> {
    for (const k of maps.counts.keys()) {
      const v = maps.counts.lookup(k);
      if (!v) continue;
      const key = decodeOffcpuKey(k, 0);
      const val = decodeOffcpuVal(v, 0);
      yield { id: k.toString('hex'), pid: key.pid, comm: val.comm, kstack: key.kstack, ustack: key.ustack, value: Math.round(val.total_ns / 1000), totalNs: val.total_ns, blocks: val.blocks };
    }
  };
  const table = new StackTable(namer, read, Boolean(c.perProcess));
  const missed = new MissedStacks(maps.missed, { kernel: OffcputimeMissed.OFFCPU_MISSED_KERNEL, user: OffcputimeMissed.OFFCPU_MISSED_USER, counts: OffcputimeMissed.OFFCPU_MISSED_COUNTS });
  const at = (i: number) => {
    const k = Buffer.alloc(4);
    k.writeUInt32LE(i);
    return k;
  };
  const startsKey = at(OffcputimeMissed.OFFCPU_MISSED_STARTS);
  const endsKey = at(OffcputimeMissed.OFFCPU_MISSED_ENDS);
  const missedBlocks = (): BlockMisses => ({ starts: maps.missed.sumU64(startsKey), ends: maps.missed.sumU64(endsKey) });
  const names = (frames: { name: string }[] | undefined) => frames?.map((f) => f.name);

  return {
    namer,
    table,
    missed,
    unwinder,
    missedBlocks,
    countsMax,
    snapshot() {
      const stacks: OffcpuStack[] = [];
      for (const e of read()) {
        const kernel = names(namer.kernel(e.kstack));
        const user = names(namer.user(e.pid, e.ustack));
        stacks.push({ pid: e.pid, comm: e.comm, ...(kernel ? { kernel } : {}), ...(user ? { user } : {}), offcpu_us: e.value, blocks: e.blocks });
      }
      namer.prune();
      stacks.sort((x, y) => y.offcpu_us - x.offcpu_us);
      return { stacks, missed: { ...missed.total(), ...missedBlocks() } };
    },
  };
}

/** The typed API's options: the command's, by the same names. */
export interface OffcputimeOptions extends CommonTraceOptions {
  /** kernel stacks only (-K) */
  kernel?: boolean;
  /** user stacks only (-U) */
  user?: boolean;
  /** --state: 'S,D', 'sleeping', 'all', or the kernel's task state number */
  state?: string | number;
  /** -m: microseconds, or a string with a unit ('10ms') */
  minBlock?: number | string;
  /** -M */
  maxBlock?: number | string;
  /** --stack-storage-size */
  stackStorageSize?: number;
  /** walk user stacks by frame pointers only (--frame-pointers); default: call-frame information */
  framePointers?: boolean;
  /** MiB for the call-frame tables (--unwind-memory, default 16) */
  unwindMemoryMb?: number;
}

/** The command's options as OffcpuConfig (UsageError on bad input). */
export function offcpuConfig(o: OffcputimeOptions & { perProcess?: boolean }): OffcpuConfig {
  const so = parseStackArgs(stackArgsOf(o), false);
  const range = parseBlockRange(o.minBlock, o.maxBlock);
  return {
    kernel: so.kernel,
    user: so.user,
    state: parseState(o.state === undefined ? undefined : String(o.state)),
    ...range,
    storage: so.storage,
    perProcess: o.perProcess,
    framePointers: so.framePointers,
    unwindMemoryMb: so.unwindMemoryMb,
  };
}

/**
 * Start timing blocks: `snapshot()` names what the kernel summed so far (totals since start),
 * `close()` detaches. Errors: UsageError (bad options), PreflightError, LoadError, AttachError.
 */
export function start(options: OffcputimeOptions = {}, log?: (message: string) => void): Aggregation<Snapshot> {
  const config = offcpuConfig(options);
  return aggregation(sessionOptions('offcputime', options, log), (session) => setup(session, config).snapshot);
}
