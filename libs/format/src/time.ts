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

  /** Seconds since this clock was made (the tool's start), for TIME(s) columns. */
  monotonicNowNs(): number {
    return Number(process.hrtime.bigint());
  }
}

let isoSec = -1;
let isoPrefix = '';
/** ISO 8601 in UTC with milliseconds, for JSON (the part up to the second is cached: ~20x faster per event). */
export function isoTime(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== isoSec) {
    isoSec = sec;
    isoPrefix = new Date(sec * 1000).toISOString().slice(0, 20); // "2026-11-25T03:04:05."
  }
  const m = Math.floor(ms - sec * 1000);
  return `${isoPrefix}${m < 10 ? '00' : m < 100 ? '0' : ''}${m}Z`;
}

let cachedSec = -1;
let cachedText = '';
/** HH:MM:SS.mmm in local time, for the TIME column (the seconds part is cached). */
export function clockTime(ms: number): string {
  const sec = Math.floor(ms / 1000);
  if (sec !== cachedSec) {
    cachedSec = sec;
    cachedText = format(sec * 1000, 'HH:mm:ss');
  }
  return `${cachedText}.${String(Math.floor(ms - sec * 1000)).padStart(3, '0')}`;
}

/** [HH:MM:SS] headers of interval output. */
export function intervalHeader(ms = Date.now()): string {
  return `[${format(ms, 'HH:mm:ss')}]`;
}
