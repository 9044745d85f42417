/** offcputime's own option values: --state and the -m/-M block times. */
import { parseTimeNs } from '@bpf-recipes/runtime';
import { UsageError } from '@bpf-recipes/core';
import {
  OFFCPU_STATE_ALL, OFFCPU_STATE_DISK, OFFCPU_STATE_IDLE, OFFCPU_STATE_OTHER, OFFCPU_STATE_RUNNING, OFFCPU_STATE_SLEEPING, OFFCPU_STATE_STOPPED,
} from './generated/offcputime.js';

/** --state's words and letters → the classes of the kernel side */
const STATES: Record<string, number> = {
  R: OFFCPU_STATE_RUNNING, running: OFFCPU_STATE_RUNNING,
  S: OFFCPU_STATE_SLEEPING, sleeping: OFFCPU_STATE_SLEEPING,
  D: OFFCPU_STATE_DISK, disk: OFFCPU_STATE_DISK, uninterruptible: OFFCPU_STATE_DISK,
  I: OFFCPU_STATE_IDLE, idle: OFFCPU_STATE_IDLE,
  T: OFFCPU_STATE_STOPPED, stopped: OFFCPU_STATE_STOPPED,
  other: OFFCPU_STATE_OTHER,
  all: OFFCPU_STATE_ALL,
};

export interface StateFilter {
  /** OFFCPU_STATE_* bits of the states taken */
  mask: number;
  /** an exact kernel task state (libbpf-tools' --state N), or -1 */
  raw: number;
}

/** `S,D`, `sleeping`, `all`, or one number: the kernel's task state value, matched exactly. */
export function parseState(v: string | undefined): StateFilter {
  if (v === undefined) return { mask: OFFCPU_STATE_ALL, raw: -1 };
  const s = v.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n > 0xffff) throw new UsageError(`--state: ${s} is not a task state (the kernel's values are below 0x10000; e.g. 1 interruptible, 2 uninterruptible)`);
    return { mask: 0, raw: n };
  }
  let mask = 0;
  for (const part of s.split(',')) {
    const p = part.trim();
    const bit = STATES[p] ?? STATES[p.toLowerCase()];
    if (bit === undefined || p === '') {
      throw new UsageError(`--state: '${p}' is not a task state: use R, S, D, I, T (running, sleeping, disk, idle, stopped), other or all, comma-separated, or the kernel's number`);
    }
    mask |= bit;
  }
  return { mask, raw: -1 };
}

/** The states a mask names, as --state's letters (for the readiness line). */
export function stateLetters(f: StateFilter): string {
  if (f.raw >= 0) return `state ${f.raw}`;
  if (f.mask === OFFCPU_STATE_ALL) return 'all states';
  const names: [number, string][] = [
    [OFFCPU_STATE_RUNNING, 'R'], [OFFCPU_STATE_SLEEPING, 'S'], [OFFCPU_STATE_DISK, 'D'], [OFFCPU_STATE_IDLE, 'I'], [OFFCPU_STATE_STOPPED, 'T'], [OFFCPU_STATE_OTHER, 'other'],
  ];
  return `state ${names.filter(([b]) => f.mask & b).map(([, n]) => n).join(',')}`;
}

/** A block time: microseconds, or a number with a unit (ns, us, ms, s). In nanoseconds. */
export const parseBlockTime = parseTimeNs;

export interface BlockRange {
  minNs: bigint;
  maxNs: bigint;
}

/** -m (default 1 µs, as libbpf-tools) and -M (default none). */
export function parseBlockRange(min: string | number | undefined, max: string | number | undefined): BlockRange {
  const minNs = min === undefined ? 1000n : parseBlockTime('-m/--min-block', min);
  const maxNs = max === undefined ? 2n ** 64n - 1n : parseBlockTime('-M/--max-block', max);
  if (maxNs < minNs) throw new UsageError(`-M/--max-block (${max}) is below -m/--min-block (${min ?? '1us'}): give a range that holds something`);
  return { minNs, maxNs };
}
