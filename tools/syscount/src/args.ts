/** syscount's own option parsers. */
import { UsageError } from '@bpf-recipes/core';

/** -i SEC → seconds between prints; 0 (libbpf-tools' "infinite wait") → undefined: print at the end only. */
export function parseInterval(v: unknown): number | undefined {
  const s = String(v).trim();
  const n = Number(s);
  if (s === '' || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`--interval: '${s}' is not a number of seconds (e.g. 1 or 0.5; 0 prints only at the end)`);
  }
  return n === 0 ? undefined : n;
}
