/** The one unit of durations in every tool's JSON: microseconds (keys ending `_us`), to 0.01 µs. */
export const usFromNs = (ns: number): number => Math.round(ns / 10) / 100;
