import { describe, expect, it } from 'vitest';
import { codeName, generateResult } from '../src/codes.js';

describe('si_code and result names', () => {
  it('generic and per-signal codes', () => {
    expect(codeName(15, 0)).toBe('SI_USER');
    expect(codeName(9, 0x80)).toBe('SI_KERNEL');
    expect(codeName(37, -1)).toBe('SI_QUEUE');
    expect(codeName(15, -6)).toBe('SI_TKILL');
    expect(codeName(11, 1)).toBe('SEGV_MAPERR');
    expect(codeName(17, 2)).toBe('CLD_KILLED');
    expect(codeName(11, 99)).toBe('99');
  });
  it('delivery results', () => {
    expect(generateResult(0)).toBe('delivered');
    expect(generateResult(1)).toBe('ignored');
    expect(generateResult(9)).toBe('9');
  });
});
