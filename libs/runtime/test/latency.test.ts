import { describe, expect, it } from 'vitest';
import { parseMinLatency } from '../src/index.js';

describe('parseMinLatency', () => {
  it('milliseconds, fractions allowed, to nanoseconds', () => {
    expect(parseMinLatency('10')).toBe(10_000_000);
    expect(parseMinLatency('0.25')).toBe(250_000);
    expect(parseMinLatency('.5')).toBe(500_000);
    expect(parseMinLatency(' 50 ')).toBe(50_000_000);
    expect(parseMinLatency('0')).toBe(0);
  });
  it('signs, exponents, words and nothing are refused, naming the option', () => {
    for (const bad of ['', ' ', '-1', '+1', 'x', '1e3', 'Infinity', '1.2.3']) expect(() => parseMinLatency(bad), bad).toThrow(/^--min-latency: '.*' is not a number of milliseconds/);
    expect(() => parseMinLatency('x', 'threshold')).toThrow(/^--threshold:/);
  });
});
