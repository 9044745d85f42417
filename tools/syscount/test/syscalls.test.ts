import { describe, expect, it } from 'vitest';
import { SYSCALL_NAMES } from '../src/generated/syscalls.js';
import { parseSyscalls, syscallName } from '../src/syscalls.js';

describe('generated syscall tables', () => {
  it('x86_64 comes from unistd_64.h', () => {
    const t = SYSCALL_NAMES.x64;
    expect([t[0], t[1], t[2], t[59], t[231], t[257], t[437]]).toEqual(['read', 'write', 'open', 'execve', 'exit_group', 'openat', 'openat2']);
  });
  it('arm64 comes from the generic table, with 64-bit names', () => {
    const t = SYSCALL_NAMES.arm64;
    expect([t[56], t[63], t[64], t[79], t[221], t[437]]).toEqual(['openat', 'read', 'write', 'newfstatat', 'execve', 'openat2']);
    expect(t).not.toContain('open');
  });
  it('parses --syscall lists and rejects unknown names', () => {
    expect(parseSyscalls('read, write', SYSCALL_NAMES.x64)).toEqual([0, 1]);
    expect(parseSyscalls('257', SYSCALL_NAMES.x64)).toEqual([257]);
    expect(() => parseSyscalls('read,nosuchcall', SYSCALL_NAMES.x64)).toThrow(/unknown syscall 'nosuchcall'/);
    expect(syscallName(1, SYSCALL_NAMES.x64)).toBe('write');
    expect(syscallName(999, SYSCALL_NAMES.x64)).toBe('[999]');
  });
});
