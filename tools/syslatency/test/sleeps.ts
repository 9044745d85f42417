// What a sleep of a known length can show in a histogram: at least its length (the kernel never
// wakes a sleeper early), at most what the sleeping thread measured around the call (that adds the
// way in and out of the kernel, and any preemption on a busy machine). Late wake-ups under load
// move a call up a slot; they never move it down.
import { expect } from 'vitest';

export interface Bucket { low: number; count: number }

/** The low end of the log2 slot of a value, as recipes_log2_slot() slots it. */
export const slotLow = (v: number): number => (v < 1 ? 0 : 2 ** Math.floor(Math.log2(v)));

/** "slept US" lines of the workload (WORKLOAD_TIMES=1) */
export const measured = (out: string): number[] => [...out.matchAll(/^slept (\d+)$/gm)].map((m) => Number(m[1]));

/** The buckets of a printed histogram ("[16K, 32K)     4 |@@@|"), low ends as numbers. */
export function tableBuckets(text: string): Bucket[] {
  const num = (s: string) => Number(s.replace(/[KMG]$/, '')) * ({ K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[s.slice(-1)] ?? 1);
  return [...text.matchAll(/^\[(\w+)(?:, \w+\))?\]?\s+(\d+) \|/gm)].map((m) => ({ low: num(m[1]), count: Number(m[2]) })).filter((b) => b.count > 0);
}

/**
 * Sleeps of `sleptUs` each (as the workload measured them, in microseconds), in buckets of `unitUs`
 * (1: microseconds, 1000: milliseconds), at least `minUs` long: the count is exact, each call lies
 * between its minimum's slot and its measurement's, and when every measurement falls in the
 * minimum's slot (no late wake-up), that one slot holds them all.
 */
export function expectSleepBuckets(buckets: Bucket[], sleptUs: number[], minUs: number, unitUs = 1): void {
  const lo = slotLow(Math.floor(minUs / unitUs));
  const his = sleptUs.map((us) => slotLow(Math.floor(us / unitUs)));
  expect(sleptUs.length).toBeGreaterThan(0);
  expect(buckets.reduce((a, b) => a + b.count, 0)).toBe(sleptUs.length);
  for (const b of buckets) {
    expect(b.low, `a ${minUs} us sleep below its slot`).toBeGreaterThanOrEqual(lo);
    expect(b.low, 'above every measurement').toBeLessThanOrEqual(Math.max(...his));
  }
  // no more calls at or above a slot than measurements there
  for (const b of buckets) {
    const atOrAbove = buckets.filter((x) => x.low >= b.low).reduce((a, x) => a + x.count, 0);
    expect(atOrAbove).toBeLessThanOrEqual(his.filter((h) => h >= b.low).length);
  }
  if (his.every((h) => h === lo)) expect(buckets.map(({ low, count }) => ({ low, count }))).toEqual([{ low: lo, count: sleptUs.length }]);
}
