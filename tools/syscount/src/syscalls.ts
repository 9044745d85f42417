/** Syscall names of the running architecture, from the generated table. */
import { arch } from 'node:os';
import { UsageError } from '@bpf-recipes/core';
import { SYSCOUNT_MAX_NR } from './generated/syscount.js';
import { SYSCALL_NAMES } from './generated/syscalls.js';

export function syscallTable(a = arch()): readonly (string | undefined)[] {
  const t = SYSCALL_NAMES[a];
  if (!t) throw new UsageError(`no syscall table for architecture ${a}`);
  return t;
}

export function syscallName(nr: number, table = syscallTable()): string {
  return table[nr] ?? `[${nr}]`;
}

/** "read,write" → numbers; unknown names are a usage error naming them. */
export function parseSyscalls(list: string, table = syscallTable()): number[] {
  const byName = new Map(table.map((n, i) => [n, i] as const).filter(([n]) => n));
  return list.split(',').map((s) => s.trim()).filter(Boolean).map((name) => {
    const nr = /^\d+$/.test(name) ? Number(name) : byName.get(name);
    if (nr === undefined || nr >= SYSCOUNT_MAX_NR) throw new UsageError(`--syscall: unknown syscall '${name}' (syscount -l lists them)`);
    return nr;
  });
}
