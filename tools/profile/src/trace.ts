/**
 * profile's tracing, shared by the command (main.ts, through ctx.session) and the typed API
 * (start()): open the skeleton, set its typed config, open one cpu-clock perf event per online CPU
 * and attach the sampling program to each; the counts stay in the kernel until they are read and
 * named (libs/stacks).
 */
import { closeSync } from 'node:fs';
import { aggregation, sessionOptions, type Aggregation, type CommonTraceOptions, type Session } from '@bpf-recipes/runtime';
import { PerfSwConfig, PerfType, UsageError, openPerfEvent } from '@bpf-recipes/core';
import { DEFAULT_STACK_STORAGE, MAX_STACK_STORAGE, MissedStacks, StackNamer, StackTable, mergeRows, type Missed, type StackEntry, type StackRow } from '@bpf-recipes/stacks';
import { PROFILE_COUNTS_MIN, PROFILE_MISSED_STACK, ProfileMissed, ProfileSkel, decodeSampleKey, decodeSampleVal } from './generated/profile.js';
import { onlineCpus, parseFrequency } from './cpus.js';

/** What setup() needs, checked (the command's options and the API's alike come to this). */
export interface ProfileConfig {
  /** samples a second on each CPU */
  frequency: number;
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
}

/** The running sampler: what the kernel counted, named. */
export interface Sampler {
  readonly config: ProfileConfig;
  readonly cpus: number[];
  /** entries of the counts map */
  readonly countsMax: number;
  /** the counts map, named (nameNew() every second; take()/all() to print) */
  readonly table: StackTable;
  readonly missed: MissedStacks;
}

export function setup(session: Session, c: ProfileConfig, note?: (message: string) => void): Sampler {
  const cpus = onlineCpus();
  const skel = session.open(ProfileSkel, new URL('../bpf/profile.bpf.o', import.meta.url), {
    cfg_kernel: c.kernel,
    cfg_user: c.user,
    cfg_idle: c.includeIdle,
  });
  const { maps, progs } = skel;
  const countsMax = Math.max(PROFILE_COUNTS_MIN, c.storage);
  skel.obj.setMaxEntries(maps.stacks, c.storage);
  skel.obj.setMaxEntries(maps.counts, countsMax);
  session.loadAndAttach(skel, { attach: false });
  for (const cpu of cpus) {
    const fd = openPerfEvent({ type: PerfType.SOFTWARE, config: PerfSwConfig.CPU_CLOCK, frequency: c.frequency, pid: -1, cpu });
    try {
      skel.obj.attachPerfEvent(progs.profile_sample.name, fd); // the link owns the fd from here
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }
  session.verbose(`${progs.profile_sample.name} attached to the cpu-clock of CPUs ${cpus.join(',')} at ${c.frequency} Hz`);

  const namer = new StackNamer({ stacks: maps.stacks, kernel: c.kernel, user: c.user, missedId: PROFILE_MISSED_STACK, tool: 'profile', note });
  const entries = function* (): Generator<StackEntry> {
    for (const k of maps.counts.keys()) {
      const v = maps.counts.lookup(k);
      if (!v) continue;
      const key = decodeSampleKey(k, 0);
      const val = decodeSampleVal(v, 0);
      // the idle task is one per CPU (swapper/0, swapper/1, ...): one name for all
      const comm = key.pid === 0 && val.comm.startsWith('swapper/') ? 'swapper' : val.comm;
      yield { id: k.toString('hex'), pid: key.pid, comm, kstack: key.kstack, ustack: key.ustack, value: val.count };
    }
  };
  return {
    config: c,
    cpus,
    countsMax,
    table: new StackTable(namer, entries, c.perProcess),
    missed: new MissedStacks(maps.missed, {
      kernel: ProfileMissed.PROFILE_MISSED_KERNEL,
      user: ProfileMissed.PROFILE_MISSED_USER,
      counts: ProfileMissed.PROFILE_MISSED_COUNTS,
    }),
  };
}

/** The typed API's options: the command's, by their long names. */
export interface ProfileOptions extends CommonTraceOptions {
  /** samples a second on each CPU (`-F`, default 49) */
  frequency?: number;
  /** capture kernel stacks (default true; `-U` is `kernel: false`) */
  kernel?: boolean;
  /** capture user stacks (default true; `-K` is `user: false`) */
  user?: boolean;
  /** count the idle task (`-I`) */
  includeIdle?: boolean;
  /** entries of the kernel's stack map (`--stack-storage-size`, default 16384) */
  stackStorageSize?: number;
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
  frequency: number;
  cpus: number[];
  /** the distinct stacks per process, most sampled first */
  stacks: SampledStack[];
  /** the sum of the stacks' counts */
  samples: number;
  /** stacks that could not be stored, samples that could not be counted */
  missed: Missed;
}

/** Checked options (UsageError on bad input, as the command line gives it). */
export function profileConfig(o: {
  frequency?: number | string;
  kernel?: boolean;
  user?: boolean;
  includeIdle?: boolean;
  stackStorageSize?: number | string;
  perProcess?: boolean;
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
  return { frequency: parseFrequency(o.frequency), kernel, user, includeIdle: Boolean(o.includeIdle), storage, perProcess: Boolean(o.perProcess) };
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
        frequency: config.frequency,
        cpus: s.cpus,
        stacks: rows.map(sampled),
        samples: rows.reduce((n, r) => n + r.count, 0),
        missed: s.missed.total(),
      };
    };
  });
}
