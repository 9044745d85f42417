/** The CPUs profile samples and the frequency it samples them at. */
import { readFileSync } from 'node:fs';
import { PreflightError, UsageError } from '@bpf-recipes/core';

export const DEFAULT_FREQUENCY = 49;
export const MAX_FREQUENCY = 10000;

/** A CPU list as sysfs writes it ("0-3,5,7-8") */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`not a CPU list: '${text.trim()}'`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let c = lo; c <= hi; c++) out.push(c);
  }
  return out;
}

export function onlineCpus(): number[] {
  try {
    return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
  } catch (e) {
    throw new PreflightError(`cannot read the online CPUs from /sys/devices/system/cpu/online (${(e as Error).message}): mount sysfs`);
  }
}

/** kernel.perf_event_max_sample_rate (undefined when unreadable) */
export function maxSampleRate(): number | undefined {
  try {
    const n = Number(readFileSync('/proc/sys/kernel/perf_event_max_sample_rate', 'utf8').trim());
    return Number.isFinite(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** -F HZ: a whole number of samples a second, 1..MAX_FREQUENCY and within what the kernel allows now. */
export function parseFrequency(v: string | number | undefined, kernelMax = maxSampleRate()): number {
  if (v === undefined) return DEFAULT_FREQUENCY;
  const s = String(v).trim();
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > MAX_FREQUENCY) throw new UsageError(`--frequency: '${s}' is not a sampling frequency from 1 to ${MAX_FREQUENCY} Hz (e.g. -F 49 or -F 99)`);
  if (kernelMax !== undefined && n > kernelMax) {
    throw new UsageError(`--frequency: ${n} Hz is above kernel.perf_event_max_sample_rate (${kernelMax}): give a lower -F, or raise it (sysctl kernel.perf_event_max_sample_rate=${n})`);
  }
  return n;
}
