/** perf_event_open(2) for BPF_PROG_TYPE_PERF_EVENT programs (sampling, software/hardware counters). */
import { closeSync } from 'node:fs';
import { BpfError } from './errors.js';
import { errno, libbpf } from './ffi.js';

export const PerfType = { HARDWARE: 0, SOFTWARE: 1, TRACEPOINT: 2 } as const;
/** enum perf_sw_ids (include/uapi/linux/perf_event.h) */
export const PerfSwConfig = {
  CPU_CLOCK: 0, TASK_CLOCK: 1, PAGE_FAULTS: 2, CONTEXT_SWITCHES: 3, CPU_MIGRATIONS: 4, PAGE_FAULTS_MIN: 5, PAGE_FAULTS_MAJ: 6, ALIGNMENT_FAULTS: 7, EMULATION_FAULTS: 8,
} as const;
/** enum perf_hw_id */
export const PerfHwConfig = {
  CPU_CYCLES: 0, INSTRUCTIONS: 1, CACHE_REFERENCES: 2, CACHE_MISSES: 3, BRANCH_INSTRUCTIONS: 4, BRANCH_MISSES: 5, BUS_CYCLES: 6, REF_CPU_CYCLES: 9,
} as const;

/** A perf event a tool can sample or count, by the name perf and bpftrace give it. */
export interface PerfEventKind {
  name: string;
  type: typeof PerfType.HARDWARE | typeof PerfType.SOFTWARE;
  config: number;
  /** counts time in nanoseconds (sampled by frequency, -F), not occurrences */
  clock: boolean;
  /** other names perf and bpftrace accept */
  aliases: string[];
  describe: string;
}

const sw = (name: string, config: number, describe: string, aliases: string[] = [], clock = false): PerfEventKind => ({ name, type: PerfType.SOFTWARE, config, clock, aliases, describe });
const hw = (name: string, config: number, describe: string, aliases: string[] = []): PerfEventKind => ({ name, type: PerfType.HARDWARE, config, clock: false, aliases, describe });

/** The software and hardware events, in perf list's order. */
export const PERF_EVENTS: readonly PerfEventKind[] = [
  sw('cpu-clock', PerfSwConfig.CPU_CLOCK, 'time on a CPU, by a per-CPU timer', ['cpu_clock'], true),
  sw('task-clock', PerfSwConfig.TASK_CLOCK, 'time the tasks run', ['task_clock'], true),
  sw('page-faults', PerfSwConfig.PAGE_FAULTS, 'page faults, minor and major', ['faults']),
  sw('major-faults', PerfSwConfig.PAGE_FAULTS_MAJ, 'page faults that read from disk', ['maj-faults']),
  sw('minor-faults', PerfSwConfig.PAGE_FAULTS_MIN, 'page faults served from memory', ['min-faults']),
  sw('context-switches', PerfSwConfig.CONTEXT_SWITCHES, 'context switches', ['cs']),
  sw('cpu-migrations', PerfSwConfig.CPU_MIGRATIONS, 'tasks moved to another CPU', ['migrations']),
  sw('alignment-faults', PerfSwConfig.ALIGNMENT_FAULTS, 'unaligned accesses fixed up by the kernel'),
  sw('emulation-faults', PerfSwConfig.EMULATION_FAULTS, 'instructions emulated by the kernel'),
  hw('cycles', PerfHwConfig.CPU_CYCLES, 'CPU cycles', ['cpu-cycles']),
  hw('instructions', PerfHwConfig.INSTRUCTIONS, 'instructions retired'),
  hw('ref-cycles', PerfHwConfig.REF_CPU_CYCLES, 'reference cycles (not scaled by frequency changes)'),
  hw('cache-references', PerfHwConfig.CACHE_REFERENCES, 'last-level cache accesses'),
  hw('cache-misses', PerfHwConfig.CACHE_MISSES, 'last-level cache misses'),
  hw('branch-instructions', PerfHwConfig.BRANCH_INSTRUCTIONS, 'branch instructions retired', ['branches']),
  hw('branch-misses', PerfHwConfig.BRANCH_MISSES, 'mispredicted branches'),
];

/** The event of a name or alias (perf's and bpftrace's spellings), or undefined. */
export function perfEventNamed(name: string): PerfEventKind | undefined {
  const n = name.trim().toLowerCase();
  return PERF_EVENTS.find((e) => e.name === n || e.aliases.includes(n));
}

/**
 * Can this machine open `e`? Tried for real: one counting event for every process on CPU `cpu`,
 * closed at once. Undefined when it can, else the errno's name (ENOENT, EOPNOTSUPP: no PMU for it).
 */
export function perfEventProblem(e: Pick<PerfEventKind, 'type' | 'config'>, cpu = 0): string | undefined {
  try {
    closeSync(openPerfEvent({ type: e.type, config: e.config, period: 1_000_000_000, pid: -1, cpu }));
    return undefined;
  } catch (err) {
    return err instanceof BpfError ? err.code : (err as Error).message;
  }
}

const NR_PERF_EVENT_OPEN: Record<string, number> = { x64: 298, arm64: 241 };
const ATTR_SIZE = 128;
const FLAG_FREQ = 1n << 10n;

export interface PerfEventOptions {
  type: number;
  config: number;
  /** every N events (or ns for clocks); or give frequency */
  period?: number;
  frequency?: number;
  /** -1: every process (with a cpu); a pid: that process (cpu -1: any CPU) */
  pid?: number;
  cpu?: number;
}

/** Open a perf event; returns its fd (attach a program with BpfObject.attachPerfEvent, which owns it then). */
export function openPerfEvent(o: PerfEventOptions): number {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(o.type, 0);
  attr.writeUInt32LE(ATTR_SIZE, 4);
  attr.writeBigUInt64LE(BigInt(o.config), 8);
  attr.writeBigUInt64LE(BigInt(o.frequency ?? o.period ?? 1_000_000), 16);
  attr.writeBigUInt64LE(o.frequency ? FLAG_FREQ : 0n, 40);
  const nr = NR_PERF_EVENT_OPEN[process.arch];
  const fd = Number(libbpf().perf_event_open(nr, attr, o.pid ?? -1, o.cpu ?? -1, -1, 8 /* PERF_FLAG_FD_CLOEXEC */));
  if (fd < 0) throw new BpfError('perf_event_open', errno(), 'perf events are not available here');
  return fd;
}
