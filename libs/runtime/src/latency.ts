/** The times of the command lines (`--min-latency MS`, `--min 10ms`, `-i SEC`), parsed once for every tool. */
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

const UNIT_NS: Record<string, bigint> = { ns: 1n, us: 1000n, µs: 1000n, ms: 1_000_000n, s: 1_000_000_000n };

/**
 * A time: a number with a unit (ns, us, ms, s: `100ms`, `500us`, `0.5ms`, `2s`), or a bare number
 * in microseconds. In nanoseconds, exact (decimal arithmetic: 0.5ms is 500000 ns). `opt` names the
 * option in the UsageError (`--min`, `-m/--min-block`).
 */
export function parseTimeNs(opt: string, v: string | number): bigint {
  const s = String(v).trim();
  const m = /^(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)?$/.exec(s);
  if (!m) throw new UsageError(`${opt}: '${s}' is not a time: give microseconds (e.g. 1000) or a number with a unit (ns, us, ms, s: e.g. 10ms)`);
  const unit = UNIT_NS[m[2] ?? 'us'];
  const [whole, frac = ''] = m[1].split('.');
  const scale = 10n ** BigInt(frac.length);
  return ((BigInt(whole) * scale + BigInt(frac || '0')) * unit) / scale;
}

/**
 * -i/--interval SEC: seconds between prints, fractions allowed. 0 is libbpf-tools' "no interval":
 * undefined, print once at the end.
 */
export function parseInterval(v: unknown): number | undefined {
  const s = String(v).trim();
  const n = Number(s);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(s) || !Number.isFinite(n)) {
    throw new UsageError(`--interval: '${s}' is not a number of seconds (e.g. 1 or 0.5; 0 prints only at the end)`);
  }
  return n === 0 ? undefined : n;
}
