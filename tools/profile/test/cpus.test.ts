import { describe, expect, it } from 'vitest';
import { PERF_EVENTS, PerfHwConfig, PerfSwConfig, PerfType, UsageError, perfEventNamed } from '@bpf-recipes/core';
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
    const cpuClock = perfEventNamed('cpu-clock');
    expect(profileConfig({})).toEqual({ event: cpuClock, frequency: 49, kernel: true, user: true, includeIdle: false, storage: 16384, perProcess: false, framePointers: false, unwindMemoryMb: 16 });
    expect(profileConfig({ frequency: 99, user: false, includeIdle: true, stackStorageSize: 1, framePointers: true, unwindMemoryMb: 4 })).toEqual({ event: cpuClock, frequency: 99, kernel: true, user: false, includeIdle: true, storage: 1, perProcess: false, framePointers: true, unwindMemoryMb: 4 });
    expect(() => profileConfig({ unwindMemoryMb: 0 })).toThrow(/--unwind-memory: '0'/);
    expect(() => profileConfig({ kernel: false, user: false })).toThrow(/-K and -U exclude each other/);
    expect(() => profileConfig({ stackStorageSize: 0 })).toThrow(/--stack-storage-size: '0'/);
    expect(() => profileConfig({ frequency: 0 })).toThrow(/--frequency: '0'/);
  });

  it('-e: the software and hardware events by perf\'s and bpftrace\'s names; -c a period; -F for the clocks only; --by comm|pid', () => {
    expect(PERF_EVENTS.map((e) => e.name)).toEqual([
      'cpu-clock', 'task-clock', 'page-faults', 'major-faults', 'minor-faults', 'context-switches', 'cpu-migrations', 'alignment-faults', 'emulation-faults',
      'cycles', 'instructions', 'ref-cycles', 'cache-references', 'cache-misses', 'branch-instructions', 'branch-misses',
    ]);
    expect(perfEventNamed('faults')).toMatchObject({ name: 'page-faults', type: PerfType.SOFTWARE, config: PerfSwConfig.PAGE_FAULTS, clock: false });
    expect(perfEventNamed('cs')).toMatchObject({ name: 'context-switches', config: PerfSwConfig.CONTEXT_SWITCHES });
    expect(perfEventNamed('Cache-Misses')).toMatchObject({ type: PerfType.HARDWARE, config: PerfHwConfig.CACHE_MISSES });
    expect(perfEventNamed('ref-cycles')).toMatchObject({ config: PerfHwConfig.REF_CPU_CYCLES });
    expect(perfEventNamed('nosuch')).toBeUndefined();
    // every event but the clocks samples every N: each software one by default, every millionth hardware one
    expect(profileConfig({ event: 'page-faults' })).toMatchObject({ event: { name: 'page-faults' }, period: 1, frequency: 0 });
    expect(profileConfig({ event: 'cache-misses' })).toMatchObject({ period: 1_000_000 });
    expect(profileConfig({ event: 'context-switches', period: '10', by: 'comm' })).toMatchObject({ period: 10, by: 'comm' });
    expect(profileConfig({ event: 'task-clock', period: 1_000_000 })).toMatchObject({ event: { clock: true }, period: 1_000_000 });
    expect(profileConfig({ event: 'task-clock' })).toMatchObject({ frequency: 49 });
    expect(profileConfig({ event: 'cpu-clock' }).period).toBeUndefined();
    expect(() => profileConfig({ event: 'nosuch' })).toThrow(/^--event: 'nosuch' is not an event profile samples: one of cpu-clock, task-clock, page-faults/);
    expect(() => profileConfig({ event: 'page-faults', frequency: 99 })).toThrow(/^-F samples the clock events .*: sample page-faults every N events with -c N/);
    expect(() => profileConfig({ period: 5, frequency: 99 })).toThrow(/-c\/--period and -F\/--frequency exclude each other/);
    for (const bad of ['0', '-1', 'x', '1.5']) expect(() => profileConfig({ event: 'page-faults', period: bad }), bad).toThrow(/^--period: /);
    expect(() => profileConfig({ by: 'tid' })).toThrow(/^--by: 'tid' is not one of comm, pid/);
  });
});
