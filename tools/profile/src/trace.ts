/**
 * profile's tracing, shared by the command (main.ts, through ctx.session) and the typed API
 * (start()): open the skeleton, set its typed config, open one cpu-clock perf event per online CPU
 * and attach the sampling program to each; the counts stay in the kernel until they are read.
 */
import { closeSync } from 'node:fs';
import { aggregation, sessionOptions, type Aggregation, type CommonTraceOptions, type Session } from '@bpf-recipes/cli';
import { PerfSwConfig, PerfType, UsageError, openPerfEvent } from '@bpf-recipes/core';
import { Symbolizer, frameLabel, type Frame } from '@bpf-recipes/symbols';
import type { FlameFrame } from '@bpf-recipes/flame';
import { ProfileMissed, ProfileSkel, decodeSampleKey, decodeSampleVal } from './generated/profile.js';
import { onlineCpus, parseFrequency } from './cpus.js';

export const DEFAULT_STACK_STORAGE = 16384;
export const MAX_STACK_STORAGE = 262144;

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
}

/** One distinct sampled (process, kernel stack, user stack), its frames leaf first. */
export interface SampledStack {
  pid: number;
  comm: string;
  /** undefined when kernel stacks are not captured (-U); empty when the sample was in user mode */
  kernel: FlameFrame[] | undefined;
  /** undefined when user stacks are not captured (-K); empty for kernel threads and the idle task */
  user: FlameFrame[] | undefined;
  /** samples since the start */
  count: number;
}

export interface Missed {
  /** kernel stacks that could not be stored (stack map full or a hash collision) */
  kernelStacks: number;
  userStacks: number;
  /** samples not counted at all: the counts map was full */
  counts: number;
}

/** The running sampler: what the kernel counted, named. */
export interface Sampler {
  readonly config: ProfileConfig;
  readonly cpus: number[];
  /** name the stacks not seen before, while their processes (probably) still run */
  nameNew(): void;
  /** every distinct stack with its count since the start */
  stacks(): SampledStack[];
  /** since the start */
  missed(): Missed;
  /** why kernel frames cannot be named (kptr_restrict...), once, or undefined */
  kernelHidden(): string | undefined;
}

export function setup(session: Session, c: ProfileConfig): Sampler {
  const cpus = onlineCpus();
  const skel = session.open(ProfileSkel, new URL('../bpf/profile.bpf.o', import.meta.url), {
    cfg_kernel: c.kernel,
    cfg_user: c.user,
    cfg_idle: c.includeIdle,
  });
  const { maps, progs } = skel;
  skel.obj.setMaxEntries(maps.events, 4096); // no event stream: the counts live in maps
  skel.obj.setMaxEntries(maps.stacks, c.storage);
  skel.obj.setMaxEntries(maps.counts, Math.max(16384, c.storage));
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
  session.verbose(`sampling CPUs ${cpus.join(',')} at ${c.frequency} Hz`);

  const sym = new Symbolizer();
  const named = new Map<string, { pid: number; comm: string; kernel: FlameFrame[] | undefined; user: FlameFrame[] | undefined }>();
  const userNames = new Map<string, FlameFrame[]>(); // `${pid}:${ustack}` → names
  const asFlame = (f: Frame): FlameFrame => (f.module !== undefined ? { name: frameLabel(f), module: f.module } : { name: frameLabel(f) });
  const readStack = (id: number): bigint[] => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(id);
    const v = maps.stacks.lookup(key);
    if (!v) return [];
    const ips: bigint[] = [];
    for (let o = 0; o + 8 <= v.length; o += 8) {
      const ip = v.readBigUInt64LE(o);
      if (ip === 0n) break;
      ips.push(ip);
    }
    return ips;
  };
  const kernelNames = (id: number): FlameFrame[] | undefined => {
    if (!c.kernel) return undefined;
    if (id === -2) return [{ name: '[missed kernel stack]' }];
    if (id < 0) return [];
    return sym.kernelStack(readStack(id)).map(asFlame);
  };
  const userNamesOf = (pid: number, id: number): FlameFrame[] | undefined => {
    if (!c.user) return undefined;
    if (id === -2) return [{ name: '[missed user stack]' }];
    if (id < 0) return [];
    const k = `${pid}:${id}`;
    let names = userNames.get(k);
    if (!names) {
      names = sym.userStack(pid, readStack(id)).map(asFlame);
      userNames.set(k, names);
    }
    return names;
  };
  const read = (withCounts: boolean): SampledStack[] => {
    const out: SampledStack[] = [];
    for (const k of maps.counts.keys()) {
      const id = k.toString('hex');
      if (!withCounts && named.has(id)) continue;
      const v = maps.counts.lookup(k);
      if (!v) continue;
      const val = decodeSampleVal(v, 0);
      let n = named.get(id);
      if (!n) {
        const sk = decodeSampleKey(k, 0);
        n = { pid: sk.pid, comm: sk.pid === 0 && val.comm.startsWith('swapper') ? 'swapper' : val.comm, kernel: kernelNames(sk.kstack), user: userNamesOf(sk.pid, sk.ustack) };
        named.set(id, n);
      }
      out.push({ ...n, count: val.count });
    }
    sym.user.prune();
    return out;
  };
  const sumAt = (i: number): number => {
    const k = Buffer.alloc(4);
    k.writeUInt32LE(i);
    return maps.missed.sumU64(k);
  };
  let hiddenSaid = false;
  return {
    config: c,
    cpus,
    nameNew: () => void read(false),
    stacks: () => read(true),
    missed: () => ({
      kernelStacks: sumAt(ProfileMissed.PROFILE_MISSED_KERNEL),
      userStacks: sumAt(ProfileMissed.PROFILE_MISSED_USER),
      counts: sumAt(ProfileMissed.PROFILE_MISSED_COUNTS),
    }),
    kernelHidden: () => {
      if (hiddenSaid || !c.kernel) return undefined;
      hiddenSaid = true;
      return sym.kernel().hidden;
    },
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

/** What start().snapshot() returns: the totals since the start. */
export interface Snapshot {
  /** when the snapshot was taken (ms since the epoch) */
  time: number;
  frequency: number;
  cpus: number[];
  /** the distinct stacks, most sampled first; frames are names, leaf first */
  stacks: { pid: number; comm: string; count: number; kernel?: string[]; user?: string[] }[];
  /** the sum of the stacks' counts */
  samples: number;
  missed: Missed;
}

/** Checked options (UsageError on bad input, as the command line gives it). */
export function profileConfig(o: { frequency?: number | string; kernel?: boolean; user?: boolean; includeIdle?: boolean; stackStorageSize?: number | string }): ProfileConfig {
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
  return { frequency: parseFrequency(o.frequency), kernel, user, includeIdle: Boolean(o.includeIdle), storage };
}

/**
 * Sample every CPU until close(); snapshot() reads and names what the kernel counted so far.
 * Throws UsageError, PreflightError, LoadError or AttachError with nothing left attached.
 */
export function start(options: ProfileOptions = {}): Aggregation<Snapshot> {
  const config = profileConfig(options);
  return aggregation<Snapshot>(sessionOptions('profile', options), (session) => {
    const s = setup(session, config);
    return () => {
      const stacks = s.stacks().sort((a, b) => b.count - a.count);
      return {
        time: Date.now(),
        frequency: config.frequency,
        cpus: s.cpus,
        stacks: stacks.map((x) => ({
          pid: x.pid,
          comm: x.comm,
          count: x.count,
          ...(x.kernel ? { kernel: x.kernel.map((f) => f.name) } : {}),
          ...(x.user ? { user: x.user.map((f) => f.name) } : {}),
        })),
        samples: stacks.reduce((n, x) => n + x.count, 0),
        missed: s.missed(),
      };
    };
  });
}
