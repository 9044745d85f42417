/**
 * profile's tracing, shared by the command (main.ts, through ctx.session) and the typed API
 * (start()): open one perf event per online CPU (cpu-clock by default, or -e's), open the skeleton,
 * set its typed config, and attach the sampling program to each event; the counts stay in the
 * kernel until they are read and named (libs/stacks).
 */
import { closeSync } from 'node:fs';
import { aggregation, parseIntArg, sessionOptions, type Aggregation, type CommonTraceOptions, type Session } from '@bpf-recipes/runtime';
import { BpfError, PERF_EVENTS, PerfType, PreflightError, UsageError, openPerfEvent, perfEventNamed, type PerfEventKind } from '@bpf-recipes/core';
import { DEFAULT_STACK_STORAGE, DEFAULT_UNWIND_MEMORY_MB, MAX_STACK_STORAGE, MissedStacks, parseUnwindMemory, StackNamer, StackTable, mergeRows, sizeUnwindMaps, startUnwinder, unwindChoice, type Missed, type StackEntry, type StackRow, type UserUnwinder } from '@bpf-recipes/stacks';
import { PROFILE_COUNTS_MIN, PROFILE_MISSED_STACK, ProfileBy, ProfileMissed, ProfileSkel, decodeSampleKey, decodeSampleVal, decodeTotalKey } from './generated/profile.js';
import { onlineCpus, parseFrequency } from './cpus.js';

/** --by: a summary per program name or process instead of stacks (bpftrace's `@[comm] = count()`) */
export const PROFILE_BY = ['comm', 'pid'] as const;
export type ProfileByName = (typeof PROFILE_BY)[number];

/** the default -c of an event that is not a clock: every software event; every millionth hardware one */
export const DEFAULT_SW_PERIOD = 1;
export const DEFAULT_HW_PERIOD = 1_000_000;

/** What setup() needs, checked (the command's options and the API's alike come to this). */
export interface ProfileConfig {
  /** the perf event sampled (-e) */
  event: PerfEventKind;
  /** sample every `period` events (nanoseconds for a clock), or undefined: `frequency` samples a second (clocks) */
  period?: number;
  /** samples a second on each CPU (clock events without -c) */
  frequency: number;
  /** a summary per comm or process, no stacks (--by) */
  by?: ProfileByName;
  /** capture kernel stacks (not -U) */
  kernel: boolean;
  /** capture user stacks (not -K) */
  user: boolean;
  /** count the idle task (-I) */
  includeIdle: boolean;
  /** entries of the stack map */
  storage: number;
  /** one row per PID instead of per comm (-P) */
  perProcess: boolean;
  /** walk user stacks by frame pointers only (--frame-pointers) */
  framePointers: boolean;
  /** MiB for the call-frame tables (--unwind-memory) */
  unwindMemoryMb: number;
}

/** The running sampler: what the kernel counted, named. */
export interface Sampler {
  readonly config: ProfileConfig;
  /** --by: the samples per comm (or process), totals since start, events (samples × period) */
  totals(): { pid?: number; comm: string; count: number }[];
  readonly cpus: number[];
  /** entries of the counts map */
  readonly countsMax: number;
  /** the counts map, named (nameNew() every second; take()/all() to print) */
  readonly table: StackTable;
  readonly missed: MissedStacks;
  /** the call-frame unwinder's tables (undefined with --frame-pointers or -K): refresh() every second */
  readonly unwinder: UserUnwinder | undefined;
}

/** The one-line failure of an event this machine cannot open, naming a software event to use instead. */
export function eventProblem(e: PerfEventKind, err: BpfError): string {
  const instead = 'sample a software event instead: -e cpu-clock (time on CPU), or page-faults, context-switches (profile --help lists them)';
  if (e.type === PerfType.HARDWARE && ['ENOENT', 'EOPNOTSUPP', 'ENODEV', 'EINVAL'].includes(err.code)) {
    return `-e ${e.name}: this machine has no hardware counter for it (perf_event_open: ${err.code}; a VM without a virtual PMU has none): ${instead}`;
  }
  return `-e ${e.name}: perf_event_open failed (${err.code}${err.hint ? `, ${err.hint}` : ''})${e.type === PerfType.HARDWARE ? `: ${instead}` : ''}`;
}

/** One perf event per CPU, every process (fds; closed again when one fails). */
function openEvents(c: ProfileConfig, cpus: number[]): number[] {
  const fds: number[] = [];
  try {
    for (const cpu of cpus) {
      fds.push(openPerfEvent({ type: c.event.type, config: c.event.config, ...(c.period !== undefined ? { period: c.period } : { frequency: c.frequency }), pid: -1, cpu }));
    }
  } catch (e) {
    for (const fd of fds) closeSync(fd);
    throw e instanceof BpfError ? new PreflightError(eventProblem(c.event, e)) : e;
  }
  return fds;
}

export function setup(session: Session, c: ProfileConfig, note?: (message: string) => void): Sampler {
  const cpus = onlineCpus();
  // the events first: one this machine does not have fails before anything is loaded
  const fds = openEvents(c, cpus);
  // --by counts without stacks: no user stacks to walk
  const unwind = unwindChoice({ ...c, user: c.user && !c.by });
  let attached = 0;
  let skel: ProfileSkel;
  let countsMax: number;
  let unwinder: UserUnwinder | undefined;
  try {
    skel = session.open(ProfileSkel, new URL('../bpf/profile.bpf.o', import.meta.url), {
      cfg_kernel: c.kernel,
      cfg_user: c.user,
      cfg_idle: c.includeIdle,
      cfg_by: c.by === 'comm' ? ProfileBy.PROFILE_BY_COMM : c.by === 'pid' ? ProfileBy.PROFILE_BY_PID : ProfileBy.PROFILE_BY_STACK,
      cfg_unwind: unwind.unwind,
    });
    const { maps, progs } = skel;
    countsMax = Math.max(PROFILE_COUNTS_MIN, c.storage);
    // --by counts in `totals`, without stacks: the maps not used hold one entry
    skel.obj.setMaxEntries(maps.stacks, c.by ? 1 : c.storage);
    skel.obj.setMaxEntries(maps.counts, c.by ? 1 : countsMax);
    skel.obj.setMaxEntries(maps.totals, c.by ? countsMax : 1);
    sizeUnwindMaps(skel.obj, maps, unwind);
    session.loadAndAttach(skel, { attach: false });
    // the tables before the first sample: its stacks are whole
    unwinder = startUnwinder(maps, unwind, session.options.filters?.pids, (m) => session.verbose(m), session.options.command?.argv);
    for (const fd of fds) {
      skel.obj.attachPerfEvent(progs.profile_sample.name, fd); // the link owns the fd from here
      attached++;
    }
  } finally {
    for (const fd of fds.slice(attached)) closeSync(fd);
  }
  const { maps, progs } = skel;
  session.verbose(`${progs.profile_sample.name} attached to the ${c.event.name} event of CPUs ${cpus.join(',')} ${c.period !== undefined ? `every ${c.period}` : `at ${c.frequency} Hz`}`);
  const weight = c.period ?? 1;

  const namer = new StackNamer({ stacks: maps.stacks, ...(unwinder ? { userStacks: maps.unwind_stacks, unwinder } : {}), kernel: c.kernel, user: c.user, missedId: PROFILE_MISSED_STACK, tool: 'profile', note });
  const entries = function* (): Generator<StackEntry> {
    for (const k of maps.counts.keys()) {
      const v = maps.counts.lookup(k);
      if (!v) continue;
      const key = decodeSampleKey(k, 0);
      const val = decodeSampleVal(v, 0);
      // the idle task is one per CPU (swapper/0, swapper/1, ...): one name for all
      const comm = key.pid === 0 && val.comm.startsWith('swapper/') ? 'swapper' : val.comm;
      yield { id: k.toString('hex'), pid: key.pid, comm, kstack: key.kstack, ustack: key.ustack, value: val.count * weight };
    }
  };
  const totals = () => {
    const out: { pid?: number; comm: string; count: number }[] = [];
    for (const k of maps.totals.keys()) {
      const v = maps.totals.lookup(k);
      if (!v) continue;
      const key = decodeTotalKey(k, 0);
      const val = decodeSampleVal(v, 0);
      const comm = c.by === 'comm' ? key.comm : val.comm;
      out.push({ ...(c.by === 'pid' ? { pid: key.pid } : {}), comm: comm.startsWith('swapper/') && (c.by === 'comm' || key.pid === 0) ? 'swapper' : comm, count: val.count * weight });
    }
    // the idle task is one per CPU (swapper/0, swapper/1, ...): one row
    const merged = new Map<string, { pid?: number; comm: string; count: number }>();
    for (const r of out) {
      const at = `${r.pid ?? ''}\0${r.comm}`;
      const m = merged.get(at);
      if (m) m.count += r.count;
      else merged.set(at, r);
    }
    return [...merged.values()].sort((x, y) => y.count - x.count || x.comm.localeCompare(y.comm));
  };
  return {
    config: c,
    totals,
    cpus,
    countsMax,
    table: new StackTable(namer, entries, c.perProcess),
    missed: new MissedStacks(maps.missed, {
      kernel: ProfileMissed.PROFILE_MISSED_KERNEL,
      user: ProfileMissed.PROFILE_MISSED_USER,
      counts: ProfileMissed.PROFILE_MISSED_COUNTS,
    }),
    unwinder,
  };
}

/** The typed API's options: the command's, by their long names. */
export interface ProfileOptions extends CommonTraceOptions {
  /** the event sampled (`-e`): cpu-clock (default), task-clock, page-faults, context-switches, cycles, ... */
  event?: string;
  /** sample every N events (`-c`; nanoseconds for cpu-clock and task-clock) */
  period?: number;
  /** samples a second on each CPU (`-F`, default 49; cpu-clock and task-clock) */
  frequency?: number;
  /** capture kernel stacks (default true; `-U` is `kernel: false`) */
  kernel?: boolean;
  /** capture user stacks (default true; `-K` is `user: false`) */
  user?: boolean;
  /** count the idle task (`-I`) */
  includeIdle?: boolean;
  /** entries of the kernel's stack map (`--stack-storage-size`, default 16384) */
  stackStorageSize?: number;
  /** walk user stacks by frame pointers only (`--frame-pointers`); default: call-frame information */
  framePointers?: boolean;
  /** MiB for the call-frame tables (`--unwind-memory`, default 16; a fraction for less than 1 MiB, from 1/16) */
  unwindMemoryMb?: number;
}

/** One distinct stack of one process in a snapshot: frame names, leaf first. */
export interface SampledStack {
  pid: number;
  comm: string;
  /** samples since the start */
  count: number;
  /** absent when kernel stacks are not captured; empty when the samples were taken in user mode */
  kernel?: string[];
  /** absent when user stacks are not captured; empty for kernel threads and the idle task */
  user?: string[];
}

/** What start().snapshot() returns: the totals since the start. */
export interface Snapshot {
  /** when the snapshot was taken (ms since the epoch) */
  time: number;
  /** the event sampled, and every how many (absent: by frequency) */
  event: string;
  period?: number;
  frequency: number;
  cpus: number[];
  /** the distinct stacks per process, most sampled first; counts are events (samples × period) with a period */
  stacks: SampledStack[];
  /** the sum of the stacks' counts */
  samples: number;
  /** stacks that could not be stored, samples that could not be counted */
  missed: Missed;
}

/** Checked options (UsageError on bad input, as the command line gives it). */
export function profileConfig(o: {
  event?: string;
  period?: number | string;
  frequency?: number | string;
  by?: string;
  kernel?: boolean;
  user?: boolean;
  includeIdle?: boolean;
  stackStorageSize?: number | string;
  perProcess?: boolean;
  framePointers?: boolean;
  unwindMemoryMb?: number;
}): ProfileConfig {
  const kernel = o.kernel ?? true;
  const user = o.user ?? true;
  if (!kernel && !user) throw new UsageError('-K and -U exclude each other: give one, or neither for both stacks');
  let storage = DEFAULT_STACK_STORAGE;
  if (o.stackStorageSize !== undefined) {
    const s = String(o.stackStorageSize).trim();
    storage = Number(s);
    if (!/^\d+$/.test(s) || storage < 1 || storage > MAX_STACK_STORAGE) {
      throw new UsageError(`--stack-storage-size: '${s}' is not a number of stacks from 1 to ${MAX_STACK_STORAGE}`);
    }
  }
  const unwindMemoryMb = o.unwindMemoryMb === undefined ? DEFAULT_UNWIND_MEMORY_MB : parseUnwindMemory(o.unwindMemoryMb);
  const event = perfEventNamed(o.event ?? 'cpu-clock');
  if (!event) throw new UsageError(`--event: '${o.event}' is not an event profile samples: one of ${PERF_EVENTS.map((e) => e.name).join(', ')}`);
  if (o.period !== undefined && o.frequency !== undefined) throw new UsageError('-c/--period and -F/--frequency exclude each other: sample every N events, or N times a second');
  if (o.frequency !== undefined && !event.clock) {
    throw new UsageError(`-F samples the clock events (cpu-clock, task-clock) so many times a second: sample ${event.name} every N events with -c N`);
  }
  const period =
    o.period !== undefined ? parseIntArg('period', o.period, `a number of events from 1 (every one) to ${2 ** 32 - 1}${event.clock ? ' (nanoseconds for a clock)' : ''}`, 1)
    : event.clock ? undefined
    : event.type === PerfType.HARDWARE ? DEFAULT_HW_PERIOD : DEFAULT_SW_PERIOD;
  if (o.by !== undefined && !(PROFILE_BY as readonly string[]).includes(o.by)) throw new UsageError(`--by: '${o.by}' is not one of ${PROFILE_BY.join(', ')}`);
  const by = o.by as ProfileByName | undefined;
  return {
    event,
    ...(period !== undefined ? { period } : {}),
    frequency: period === undefined ? parseFrequency(o.frequency) : 0,
    ...(by ? { by } : {}),
    kernel,
    user,
    includeIdle: Boolean(o.includeIdle),
    storage,
    perProcess: Boolean(o.perProcess),
    framePointers: Boolean(o.framePointers),
    unwindMemoryMb,
  };
}

const names = (fs: { name: string }[] | undefined) => fs?.map((f) => f.name);

function sampled(r: StackRow): SampledStack {
  const k = names(r.kernel);
  const u = names(r.user);
  return { pid: r.pid!, comm: r.comm, count: r.count, ...(k ? { kernel: k } : {}), ...(u ? { user: u } : {}) };
}

/**
 * Sample every CPU until close(); snapshot() reads and names what the kernel counted so far.
 * Throws UsageError, PreflightError, LoadError or AttachError with nothing left attached.
 */
export function start(options: ProfileOptions = {}): Aggregation<Snapshot> {
  const config = profileConfig({ ...options, perProcess: true });
  return aggregation<Snapshot>(sessionOptions('profile', options), (session) => {
    const s = setup(session, config);
    return () => {
      const rows = mergeRows(s.table.totals().map(({ stack, total }) => ({ stack, count: total })), true);
      return {
        time: Date.now(),
        event: config.event.name,
        ...(config.period !== undefined ? { period: config.period } : {}),
        frequency: config.frequency,
        cpus: s.cpus,
        stacks: rows.map(sampled),
        samples: rows.reduce((n, r) => n + r.count, 0),
        missed: s.missed.total(),
      };
    };
  });
}
