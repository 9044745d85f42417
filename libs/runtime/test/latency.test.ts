import { describe, expect, it } from 'vitest';
import { parseMinLatency, parseTimeNs } from '../src/index.js';

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

describe('parseTimeNs', () => {
  it('a number with a unit, or bare microseconds, to exact nanoseconds', () => {
    expect(parseTimeNs('--min', '100ms')).toBe(100_000_000n);
    expect(parseTimeNs('--min', '500us')).toBe(500_000n);
    expect(parseTimeNs('--min', '500µs')).toBe(500_000n);
    expect(parseTimeNs('--min', '2s')).toBe(2_000_000_000n);
    expect(parseTimeNs('--min', '0.5ms')).toBe(500_000n);
    expect(parseTimeNs('--min', '1000')).toBe(1_000_000n);
    expect(parseTimeNs('--min', 250)).toBe(250_000n);
    expect(parseTimeNs('--min', '0')).toBe(0n);
    expect(parseTimeNs('--min', '7ns')).toBe(7n);
  });
  it('signs, other units and words are refused, naming the option', () => {
    for (const bad of ['', '-1ms', '1h', 'soon', '1e3', '.5ms']) expect(() => parseTimeNs('--min', bad), bad).toThrow(/^--min: '.*' is not a time/);
  });
});
