import { describe, expect, it } from 'vitest';
import { SYSCALL_NAMES, parseSyscalls, syscallBitmap, syscallExitConfig, syscallName } from '../src/syscalls.js';

describe('generated syscall tables', () => {
  it('x86_64 comes from unistd_64.h', () => {
    const t = SYSCALL_NAMES.x64;
    expect([t[0], t[1], t[2], t[59], t[231], t[257], t[437]]).toEqual(['read', 'write', 'open', 'execve', 'exit_group', 'openat', 'openat2']);
  });
  it('arm64 comes from the generic table, with 64-bit names', () => {
    const t = SYSCALL_NAMES.arm64;
    expect([t[56], t[63], t[64], t[79], t[221], t[437]]).toEqual(['openat', 'read', 'write', 'newfstatat', 'execve', 'openat2']);
    expect(t).not.toContain('open');
    // the __NR3264_* entries by their 64-bit names, as strace and the kernel's syscalls:sys_enter_* name
    // them (not the 32-bit branch's mmap2, llseek, fcntl64)
    expect([t[25], t[62], t[71], t[222], t[223]]).toEqual(['fcntl', 'lseek', 'sendfile', 'mmap', 'fadvise64']);
    for (const n of ['mmap2', 'llseek', 'fcntl64', 'fadvise64_64', 'sendfile64']) expect(t).not.toContain(n);
  });
  it('parses --syscall lists and rejects unknown names', () => {
    expect(parseSyscalls('read, write', SYSCALL_NAMES.x64)).toEqual([0, 1]);
    expect(parseSyscalls('257', SYSCALL_NAMES.x64)).toEqual([257]);
    expect(() => parseSyscalls('read,nosuchcall', SYSCALL_NAMES.x64)).toThrow(/unknown syscall 'nosuchcall'/);
    expect(syscallName(1, SYSCALL_NAMES.x64)).toBe('write');
    expect(syscallName(999, SYSCALL_NAMES.x64)).toBe('[999]');
    expect(parseSyscalls(['pwritev', 'nanosleep,read'], SYSCALL_NAMES.x64)).toEqual([296, 35, 0]);
    expect(() => parseSyscalls(['nope'], SYSCALL_NAMES.x64, { what: '', hint: ' (syslatency -l lists them)' }))
      .toThrow(/^unknown syscall 'nope' \(syslatency -l lists them\)$/);
    expect(() => parseSyscalls('1024', SYSCALL_NAMES.x64)).toThrow(/unknown syscall '1024'/);
  });
  it('the filter bitmap and the numbers recipes_exit_nr() needs', () => {
    expect([...syscallBitmap([0, 9, 15], 4)]).toEqual([1, 0x82, 0, 0]);
    expect(syscallExitConfig(SYSCALL_NAMES.x64)).toEqual({ cfg_nr_clone: 56, cfg_nr_clone3: 435, cfg_nr_fork: 57, cfg_nr_vfork: 58, cfg_nr_rt_sigreturn: 15 });
    // arm64 has neither fork nor vfork
    expect(syscallExitConfig(SYSCALL_NAMES.arm64)).toMatchObject({ cfg_nr_fork: -1, cfg_nr_vfork: -1, cfg_nr_clone: 220 });
  });
});
