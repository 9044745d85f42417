/** open(2) flags: symbolic names for display and the --flag-filter parser. Values differ by architecture. */
import { arch } from 'node:os';
import { UsageError } from '@bpf-recipes/core';

const O_ACCMODE = 3;
const ACCMODES = ['O_RDONLY', 'O_WRONLY', 'O_RDWR'];

// octal values from the kernel's uapi headers (asm-generic/fcntl.h, and arm64's asm/fcntl.h)
const COMMON: [string, number][] = [
  ['O_CREAT', 0o100], ['O_EXCL', 0o200], ['O_NOCTTY', 0o400], ['O_TRUNC', 0o1000], ['O_APPEND', 0o2000],
  ['O_NONBLOCK', 0o4000], ['O_DSYNC', 0o10000], ['O_ASYNC', 0o20000], ['O_NOATIME', 0o1000000],
  ['O_CLOEXEC', 0o2000000], ['O_SYNC', 0o4000000], ['O_PATH', 0o10000000], ['O_TMPFILE', 0o20000000],
];
const X86_64: [string, number][] = [['O_DIRECT', 0o40000], ['O_LARGEFILE', 0o100000], ['O_DIRECTORY', 0o200000], ['O_NOFOLLOW', 0o400000]];
const ARM64: [string, number][] = [['O_DIRECTORY', 0o40000], ['O_NOFOLLOW', 0o100000], ['O_DIRECT', 0o200000], ['O_LARGEFILE', 0o400000]];

export const OPEN_FLAGS: [string, number][] = [...COMMON, ...(arch() === 'arm64' ? ARM64 : X86_64)].sort((a, b) => a[1] - b[1]);

const names = new Map<number, string>();

/** "O_WRONLY|O_CREAT|O_TRUNC"; bits without a name are shown in octal. Cached per value. */
export function flagNames(flags: number): string {
  let s = names.get(flags);
  if (s === undefined) {
    s = computeFlagNames(flags);
    if (names.size < 4096) names.set(flags, s);
  }
  return s;
}

function computeFlagNames(flags: number): string {
  const parts = [ACCMODES[flags & O_ACCMODE] ?? `0${(flags & O_ACCMODE).toString(8)}`];
  let rest = flags & ~O_ACCMODE;
  for (const [name, bit] of OPEN_FLAGS) {
    if (rest & bit) {
      parts.push(name);
      rest &= ~bit;
    }
  }
  if (rest) parts.push(`0${rest.toString(8)}`);
  return parts.join('|');
}

/** Does a mode argument mean anything for these flags? (O_CREAT or O_TMPFILE) */
export function hasMode(flags: number): boolean {
  return (flags & 0o100) !== 0 || (flags & 0o20000000) !== 0;
}

/** --flag-filter values → the kernel config: match any given flag. */
export function parseFlagFilter(values: string[] | undefined): { cfg_flag_filter: boolean; cfg_flag_bits: number; cfg_accmodes: number } {
  let bits = 0;
  let accmodes = 0;
  for (const raw of values ?? []) {
    for (const v of raw.split(/[,|]/).map((s) => s.trim()).filter(Boolean)) {
      const name = v.toUpperCase().startsWith('O_') ? v.toUpperCase() : `O_${v.toUpperCase()}`;
      const am = ACCMODES.indexOf(name);
      const f = OPEN_FLAGS.find(([n]) => n === name);
      if (am >= 0) accmodes |= 1 << am;
      else if (f) bits |= f[1];
      else throw new UsageError(`--flag-filter: unknown flag '${v}' (one of ${[...ACCMODES, ...OPEN_FLAGS.map(([n]) => n)].join(', ')})`);
    }
  }
  return { cfg_flag_filter: bits !== 0 || accmodes !== 0, cfg_flag_bits: bits, cfg_accmodes: accmodes };
}
