import { describe, expect, it } from 'vitest';
import { flagNames, hasMode, parseFlagFilter } from '../src/flags.js';

describe('open flags', () => {
  it('names access mode and flags symbolically', () => {
    expect(flagNames(0)).toBe('O_RDONLY');
    expect(flagNames(0o1 | 0o100 | 0o1000)).toBe('O_WRONLY|O_CREAT|O_TRUNC');
    expect(flagNames(0o2 | 0o2000000)).toBe('O_RDWR|O_CLOEXEC');
  });
  it('shows unknown bits in octal', () => {
    expect(flagNames(0o4000000000)).toBe('O_RDONLY|04000000000');
  });
  it('knows when mode matters', () => {
    expect(hasMode(0o100)).toBe(true);
    expect(hasMode(0o2000000)).toBe(false);
  });
  it('parses --flag-filter into kernel config', () => {
    expect(parseFlagFilter(['O_WRONLY', 'creat'])).toEqual({ cfg_flag_filter: true, cfg_flag_bits: 0o100, cfg_accmodes: 2 });
    expect(parseFlagFilter(['O_RDONLY|O_RDWR'])).toEqual({ cfg_flag_filter: true, cfg_flag_bits: 0, cfg_accmodes: 5 });
    expect(parseFlagFilter(undefined).cfg_flag_filter).toBe(false);
    expect(() => parseFlagFilter(['O_BOGUS'])).toThrow(/unknown flag 'O_BOGUS'/);
  });
});
