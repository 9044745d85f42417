/** The latency thresholds of the command lines (`--min-latency MS`), parsed once for every tool. */
import { UsageError } from '@bpf-recipes/core';

/**
 * A number of milliseconds, fractions allowed (`10`, `0.25`, `.5`), → nanoseconds. Signs,
 * exponents and words are refused with a UsageError naming `--<option>`.
 */
export function parseMinLatency(v: unknown, option = 'min-latency'): number {
  const s = String(v).trim();
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(s)) throw new UsageError(`--${option}: '${s}' is not a number of milliseconds (e.g. 10 or 0.5)`);
  return Math.round(Number(s) * 1e6);
}
