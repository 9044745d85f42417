/** Kernel timestamps (CLOCK_MONOTONIC ns, bpf_ktime_get_ns) to wall-clock time. */
import { format } from './vendor/date-fns.js';

export class Clock {
  /** wall ms minus monotonic ms, measured once at start */
  private readonly offsetMs: number;
  constructor() {
    this.offsetMs = Date.now() - Number(process.hrtime.bigint()) / 1e6;
  }

  /** Wall-clock ms since the epoch for a bpf_ktime_get_ns() value. */
  wallMs(ktimeNs: number): number {
    return ktimeNs / 1e6 + this.offsetMs;
  }

  /** CLOCK_MONOTONIC now, in ns: the clock of bpf_ktime_get_ns(), for times relative to the start. */
  monotonicNowNs(): number {
    return Number(process.hrtime.bigint());
  }
}

/**
 * A timestamp formatter that formats the whole second once and appends the milliseconds:
 * events come thousands per second, seconds change once a second (~20x faster per event).
 */
function perSecond(prefix: (secMs: number) => string, suffix: string): (ms: number) => string {
  let sec = -1;
  let text = '';
  return (ms) => {
    const s = Math.floor(ms / 1000);
    if (s !== sec) {
      sec = s;
      text = prefix(s * 1000);
    }
    const m = Math.floor(ms - s * 1000);
    return `${text}${m < 10 ? '00' : m < 100 ? '0' : ''}${m}${suffix}`;
  };
}

/** ISO 8601 in UTC with milliseconds, for JSON: 2026-11-25T03:04:05.067Z */
export const isoTime = perSecond((ms) => new Date(ms).toISOString().slice(0, 20), 'Z');

/** HH:MM:SS.mmm in local time, for the TIME column. */
export const clockTime = perSecond((ms) => format(ms, 'HH:mm:ss.'), '');

/** [HH:MM:SS] headers of interval output. */
export function intervalHeader(ms = Date.now()): string {
  return `[${format(ms, 'HH:mm:ss')}]`;
}
