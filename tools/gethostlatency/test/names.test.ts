import { describe, expect, it } from 'vitest';
import { parseMinLatency } from '@bpf-recipes/cli';
import { addrText } from '@bpf-recipes/format';
import { FUNCS, isAddrQuery, resultName } from '../src/names.js';

describe('names', () => {
  it('EAI and h_errno results', () => {
    expect(resultName(0, 0, 0)).toBe('0');
    expect(resultName(0, -2, 0)).toBe('EAI_NONAME');
    expect(resultName(0, -3, 0)).toBe('EAI_AGAIN');
    expect(resultName(3, -1, 1)).toBe('HOST_NOT_FOUND');
    expect(resultName(1, -1, 0)).toBe('NULL');
  });
  it('addresses', () => {
    expect(addrText(2, new Uint8Array([127, 0, 0, 1, ...Array(12).fill(0)]))).toBe('127.0.0.1');
    expect(addrText(10, new Uint8Array([...Array(15).fill(0), 1]))).toBe('::1');
    expect(addrText(10, new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))).toBe('2001:db8::1');
    expect(addrText(10, new Uint8Array([0xfe, 0x80, ...Array(6).fill(0), 0, 1, 0, 0, 0, 0, 0, 2]))).toBe('fe80::1:0:0:2');
  });
  it('gethostbyaddr_r is known, and both address lookups show the address', () => {
    expect(FUNCS[6]).toBe('gethostbyaddr_r');
    expect([5, 6].map(isAddrQuery)).toEqual([true, true]);
    expect(isAddrQuery(1)).toBe(false);
  });
  it('--min-latency: milliseconds, fractions allowed; empty or signed text refused', () => {
    expect(parseMinLatency('50')).toBe(50_000_000);
    expect(parseMinLatency('0.5')).toBe(500_000);
    expect(parseMinLatency('0')).toBe(0);
    for (const bad of ['', ' ', '-1', 'x', '1e3', 'Infinity']) expect(() => parseMinLatency(bad), bad).toThrow(/--min-latency/);
  });
});
