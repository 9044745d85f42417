import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

let byNumber: Map<number, string> | undefined;

/** ENOENT for 2, and so on; `E<n>` when the platform has no name for it. */
export function errnoName(n: number): string {
  n = Math.abs(n);
  if (!byNumber) {
    byNumber = new Map();
    for (const [name, num] of Object.entries(constants.errno)) if (!byNumber.has(num)) byNumber.set(num, name);
    byNumber.set(524, 'ENOTSUPP'); // kernel-internal, returned by some BPF paths
  }
  return byNumber.get(n) ?? `E${n}`;
}

export function errnoNumber(name: string): number | undefined {
  const v = (constants.errno as Record<string, number>)[name.toUpperCase()];
  return v === undefined ? undefined : v;
}

/** The C library's sentence for an errno ("No such file or directory"). */
export function errnoMessage(n: number): string {
  const e = getSystemErrorMap().get(-Math.abs(n));
  return e ? e[1] : errnoName(n);
}
