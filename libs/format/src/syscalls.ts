/**
 * Syscall names and numbers of the running architecture, from the table generated at build time
 * from the kernel's uapi headers (scripts/gen-syscalls.mjs), and what the syscall tools'
 * kernel side (recipes_syscalls.h) needs from it.
 */
import { arch } from 'node:os';
import { UsageError } from '@bpf-recipes/core';
import { SYSCALL_NAMES } from './generated/syscalls.js';

export { SYSCALL_NAMES };

export function syscallTable(a = arch()): readonly (string | undefined)[] {
  const t = SYSCALL_NAMES[a];
  if (!t) throw new UsageError(`no syscall table for architecture ${a}`);
  return t;
}

/** `-l` of the syscall tools (syscount, syslatency): one "  NR name" line per syscall of the table. */
export function syscallTableLines(table = syscallTable()): string[] {
  return table.flatMap((n, nr) => (n ? [`${String(nr).padStart(4)} ${n}`] : []));
}

export function syscallName(nr: number, table = syscallTable()): string {
  return table[nr] ?? `[${nr}]`;
}

/**
 * Syscall names (or numbers) → numbers, below `max`. Unknown ones are a UsageError naming the
 * first: `${what}: unknown syscall 'x'${hint}` (no `${what}: ` when what is '').
 */
export function parseSyscalls(
  list: string | readonly string[],
  table = syscallTable(),
  opts: { what?: string; hint?: string; max?: number } = {},
): number[] {
  const { what = '--syscall', hint = '', max = 1024 } = opts;
  const byName = new Map(table.map((n, i) => [n, i] as const).filter(([n]) => n));
  const names = typeof list === 'string' ? list.split(',') : list.flatMap((s) => s.split(','));
  return names.map((s) => s.trim()).filter(Boolean).map((name) => {
    const nr = /^\d+$/.test(name) ? Number(name) : byName.get(name);
    if (nr === undefined || nr >= max) throw new UsageError(`${what ? `${what}: ` : ''}unknown syscall '${name}'${hint}`);
    return nr;
  });
}

/** The --syscall filter of recipes_syscalls.h: a bitmap of `bytes` bytes with these numbers set. */
export function syscallBitmap(nrs: readonly number[], bytes: number): Uint8Array {
  const bitmap = new Uint8Array(bytes);
  for (const nr of nrs) bitmap[nr >> 3] |= 1 << (nr & 7);
  return bitmap;
}

/**
 * The numbers recipes_exit_nr() needs to count a fork-like call and rt_sigreturn once each
 * (config of recipes_syscalls.h; -1 where the architecture lacks a call).
 */
export function syscallExitConfig(table = syscallTable()) {
  return {
    cfg_nr_clone: table.indexOf('clone'),
    cfg_nr_clone3: table.indexOf('clone3'),
    cfg_nr_fork: table.indexOf('fork'),
    cfg_nr_vfork: table.indexOf('vfork'),
    cfg_nr_rt_sigreturn: table.indexOf('rt_sigreturn'),
  };
}
