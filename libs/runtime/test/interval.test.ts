import { describe, expect, it } from 'vitest';
import { UsageError } from '@bpf-recipes/core';
import { parseInterval } from '../src/latency.js';

describe('-i/--interval', () => {
  it('takes seconds, fractions too', () => {
    expect(parseInterval('1')).toBe(1);
    expect(parseInterval('0.5')).toBe(0.5);
  });
  it('0 means no interval, as in libbpf-tools syscount: print only at the end (every tool with -i)', () => {
    expect(parseInterval('0')).toBeUndefined();
  });
  it('refuses anything else as a usage error that names --interval, not --duration', () => {
    for (const bad of ['abc', '-1', '', '1s', '1e3', 'Infinity', '0x10']) {
      expect(() => parseInterval(bad)).toThrow(UsageError);
      expect(() => parseInterval(bad)).toThrow(/^--interval: /);
    }
  });
});
