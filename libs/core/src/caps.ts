/**
 * Capabilities dropped once every program is attached (the exporter, and a tool with --metrics): what
 * loading and attaching needed (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, ...) is given up, only what the
 * process still uses stays. capset(2) and prctl(2) of libc through koffi.
 *
 * Capabilities belong to threads. The main thread (where all JavaScript runs) drops them, with the
 * ambient set and the bounding set (a program it executes as root cannot get them back), and so do
 * libuv's pool threads (the file system calls JavaScript asks for run there): through koffi's async
 * calls, which run on them, or, where the pool has not started yet, because they are created later
 * by the main thread and inherit its sets. V8's own background threads (compiler, GC), started
 * before any of our code, make no call for us and keep theirs: dropCapabilities() counts them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { release } from 'node:os';
import { koffiLib } from './ffi.js';

export const CAPS = {
  CAP_DAC_OVERRIDE: 1, CAP_DAC_READ_SEARCH: 2, CAP_SETPCAP: 8, CAP_NET_ADMIN: 12, CAP_SYS_PTRACE: 19, CAP_SYS_ADMIN: 21,
  CAP_SYS_RESOURCE: 24, CAP_SYSLOG: 34, CAP_PERFMON: 38, CAP_BPF: 39,
} as const;
export type CapName = keyof typeof CAPS;

const VERSION_3 = 0x20080522;
const PR_CAPBSET_DROP = 24;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;
const LAST_CAP = 63;

let bound: ReturnType<typeof bind> | undefined;
function bind() {
  const koffi = koffiLib();
  const libc = koffi.load('libc.so.6');
  const header = koffi.struct('recipes_cap_header', { version: 'uint32_t', pid: 'int' });
  const data = koffi.struct('recipes_cap_data', { effective: 'uint32_t', permitted: 'uint32_t', inheritable: 'uint32_t' });
  koffi.struct('recipes_cap_data2', { d: koffi.array(data, 2) });
  return {
    header,
    capset: libc.func('int capset(recipes_cap_header *hdr, recipes_cap_data2 *data)'),
    prctl: libc.func('int prctl(int option, ...)'),
  };
}

/**
 * What reading the maps of loaded programs needs: nothing from Linux 6.5 on (the capability checks
 * moved to map and program creation), nothing where unprivileged BPF is allowed; CAP_BPF otherwise.
 */
export function capsForMapReads(kernel = release()): CapName[] {
  const [major, minor] = kernel.split('.').map((x) => parseInt(x, 10));
  if (major > 6 || (major === 6 && minor >= 5)) return [];
  try {
    if (readFileSync('/proc/sys/kernel/unprivileged_bpf_disabled', 'utf8').trim() === '0') return [];
  } catch {
    /* unknown: keep it */
  }
  return ['CAP_BPF'];
}

/** the capability bits of a /proc status line (CapEff, CapPrm, CapBnd, ...) */
export function capsOf(status: string, field: 'CapEff' | 'CapPrm' | 'CapBnd' | 'CapInh' | 'CapAmb'): bigint {
  const m = new RegExp(`^${field}:\\s*([0-9a-f]+)`, 'm').exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export const capMask = (names: CapName[]) => names.reduce((m, n) => m | (1n << BigInt(CAPS[n])), 0n);

export interface Dropped {
  /** the capabilities kept (those asked for that the process had) */
  kept: CapName[];
  /** threads of the process, and those still holding more than kept (V8's background threads) */
  threads: number;
  holding: number;
}

/**
 * Keep only `keep` (those of them the process has): effective and permitted of the main thread and
 * of libuv's pool threads, the ambient set cleared, every other capability dropped from the
 * bounding set. Resolves once the pool threads have run their capset.
 */
export async function dropCapabilities(keep: CapName[]): Promise<Dropped> {
  const b = (bound ??= bind());
  const status = readFileSync('/proc/self/status', 'utf8');
  const have = capsOf(status, 'CapPrm');
  const want = capMask(keep) & have;
  // the bounding set first: dropping from it needs CAP_SETPCAP, which goes next
  if ((capsOf(status, 'CapEff') >> BigInt(CAPS.CAP_SETPCAP)) & 1n) {
    for (let c = 0; c <= LAST_CAP; c++) if (!((want >> BigInt(c)) & 1n)) b.prctl(PR_CAPBSET_DROP, 'unsigned long', c, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0);
  }
  b.prctl(PR_CAP_AMBIENT, 'unsigned long', PR_CAP_AMBIENT_CLEAR_ALL, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0);
  const lo = Number(want & 0xffffffffn);
  const hi = Number(want >> 32n);
  const hdr = { version: VERSION_3, pid: 0 };
  const data = { d: [{ effective: lo, permitted: lo, inheritable: 0 }, { effective: hi, permitted: hi, inheritable: 0 }] };
  if (b.capset(hdr, data) !== 0) throw new Error('capset failed');
  // libuv's pool threads: a few rounds of calls on them (each idle thread wakes for one)
  for (let round = 0; round < 3; round++) {
    await Promise.all(Array.from({ length: 16 }, () => new Promise<void>((res) => b.capset.async(hdr, data, () => res()))));
  }
  let threads = 0;
  let holding = 0;
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const s = readFileSync(`/proc/self/task/${t}/status`, 'utf8');
      threads++;
      if (capsOf(s, 'CapEff') & ~want || capsOf(s, 'CapPrm') & ~want) holding++;
    } catch {
      /* a thread that ended */
    }
  }
  return { kept: keep.filter((k) => (want >> BigInt(CAPS[k])) & 1n), threads, holding };
}
