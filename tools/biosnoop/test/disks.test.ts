import { describe, expect, it } from 'vitest';
import { parseMinLatency } from '@bpf-recipes/cli';
import { diskDev, kdev, patternLetter, rwbs } from '../src/disks.js';

describe('disks', () => {
  it('rwbs letters in blktrace order', () => {
    expect(rwbs(0, 0)).toBe('R');
    expect(rwbs(1, 1)).toBe('WS');
    expect(rwbs(0, 2)).toBe('RM');
    expect(rwbs(0, 16)).toBe('RA');
    expect(rwbs(1, 8 | 4 | 1)).toBe('FWFS');
    expect(rwbs(3, 0)).toBe('D');
  });
  it('encodes dev_t as the kernel does', () => {
    expect(kdev(254, 0)).toBe(254 << 20);
    expect(kdev(8, 17)).toBe((8 << 20) | 17);
  });
  it('rejects unknown disks', () => {
    expect(() => diskDev('nosuchdisk0')).toThrow(/no block device 'nosuchdisk0'/);
    expect(() => diskDev('../etc')).toThrow(/no block device/);
  });
  it('-P letters as bcc shows them', () => {
    expect([0, 1, 2].map(patternLetter)).toEqual(['?', 'S', 'R']);
  });
  it('--min-latency: milliseconds, fractions allowed; empty or signed text refused', () => {
    expect(parseMinLatency('10')).toBe(10_000_000);
    expect(parseMinLatency('0.25')).toBe(250_000);
    for (const bad of ['', '-1', 'x', '1e3']) expect(() => parseMinLatency(bad), bad).toThrow(/--min-latency/);
  });
});
