import { describe, expect, it } from 'vitest';
import { UsageError } from '@bpf-recipes/core';
import { DEFAULT_FREQUENCY, parseCpuList, parseFrequency } from '../src/cpus.js';
import { profileConfig } from '../src/trace.js';

describe('the CPUs and the frequency', () => {
  it('reads sysfs CPU lists: ranges, single CPUs, gaps', () => {
    expect(parseCpuList('0-1\n')).toEqual([0, 1]);
    expect(parseCpuList('0,2-4,7')).toEqual([0, 2, 3, 4, 7]);
    expect(parseCpuList('3')).toEqual([3]);
    expect(() => parseCpuList('0-x')).toThrow(/not a CPU list/);
  });

  it('-F: 49 by default; a whole number from 1 to 10000 within the kernel maximum; anything else a UsageError naming the option', () => {
    expect(parseFrequency(undefined, 100000)).toBe(DEFAULT_FREQUENCY);
    expect(DEFAULT_FREQUENCY).toBe(49);
    expect(parseFrequency('99', 100000)).toBe(99);
    expect(parseFrequency(' 10000 ', 100000)).toBe(10000);
    for (const bad of ['0', '100000', '10001', '-1', '4.5', 'abc', '']) {
      expect(() => parseFrequency(bad, 100000), bad).toThrow(UsageError);
      expect(() => parseFrequency(bad, 100000), bad).toThrow(/^--frequency: /);
    }
    // above what the kernel allows now: the sysctl is named
    expect(() => parseFrequency('5000', 4000)).toThrow(/above kernel\.perf_event_max_sample_rate \(4000\).*sysctl kernel\.perf_event_max_sample_rate=5000/);
    expect(parseFrequency('4000', 4000)).toBe(4000);
  });

  it('the API options are checked as the command line is', () => {
    expect(profileConfig({})).toEqual({ frequency: 49, kernel: true, user: true, includeIdle: false, storage: 16384, perProcess: false });
    expect(profileConfig({ frequency: 99, user: false, includeIdle: true, stackStorageSize: 1 })).toEqual({ frequency: 99, kernel: true, user: false, includeIdle: true, storage: 1, perProcess: false });
    expect(() => profileConfig({ kernel: false, user: false })).toThrow(/-K and -U exclude each other/);
    expect(() => profileConfig({ stackStorageSize: 0 })).toThrow(/--stack-storage-size: '0'/);
    expect(() => profileConfig({ frequency: 0 })).toThrow(/--frequency: '0'/);
  });
});
