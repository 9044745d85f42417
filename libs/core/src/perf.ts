/** perf_event_open(2) for BPF_PROG_TYPE_PERF_EVENT programs (sampling, software/hardware counters). */
import { BpfError } from './errors.js';
import { errno, libbpf } from './ffi.js';

export const PerfType = { HARDWARE: 0, SOFTWARE: 1, TRACEPOINT: 2 } as const;
export const PerfSwConfig = { CPU_CLOCK: 0, TASK_CLOCK: 1 } as const;

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
