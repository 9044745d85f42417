import { describe, expect, it } from 'vitest';
import { UsageError } from '@bpf-recipes/core';
import { cgroup2Mount, commonConfig, parseCgroup, parseDuration, parsePids, parseSize } from '../src/options.js';
import { parseArgs, type ToolSpec } from '../src/tool.js';

describe('common option parsers', () => {
  it('pids', () => {
    expect(parsePids('1,22, 333')).toEqual([1, 22, 333]);
    expect(() => parsePids('abc')).toThrow(UsageError);
    expect(() => parsePids('0')).toThrow(/not a process ID/);
    expect(() => parsePids(Array.from({ length: 17 }, (_, i) => i + 1).join(','))).toThrow(/at most 16/);
  });
  it('durations', () => {
    expect(parseDuration('2.5')).toBe(2.5);
    expect(() => parseDuration('-1')).toThrow(/not a number of seconds/);
    expect(() => parseDuration('x')).toThrow(UsageError);
  });
  it('buffer sizes are powers of two', () => {
    expect(parseSize('8M')).toBe(8 << 20);
    expect(parseSize('4096')).toBe(4096);
    expect(() => parseSize('1000')).toThrow(/power of two/);
    expect(() => parseSize('3M')).toThrow(UsageError);
  });
  it('turns filters into the kernel config of recipes.h', () => {
    expect(commonConfig({ pid: '10,20', tid: '7', uid: '0', name: 'nginx' })).toEqual({
      cfg_pids: [10, 20], cfg_npids: 2, cfg_tid: 7, cfg_filter_uid: true, cfg_uid: 0, cfg_comm: 'nginx', cfg_comm_len: 5,
    });
    expect(commonConfig({})).toEqual({});
    expect(() => commonConfig({ name: 'a-name-longer-than-15' })).toThrow(/1 to 15 bytes/);
  });
  it('finds the cgroup v2 mount in mountinfo', () => {
    const mi = '30 23 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw\n31 23 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n';
    expect(cgroup2Mount(mi)).toBe('/sys/fs/cgroup/unified');
    expect(cgroup2Mount('31 23 0:27 / /x rw - cgroup cgroup rw,cpu\n')).toBeUndefined();
  });
  it('resolves a cgroup to its id and level', () => {
    const mount = cgroup2Mount();
    if (!mount) return expect(() => parseCgroup('/x')).toThrow(UsageError);
    const root = parseCgroup(mount);
    expect(root.level).toBe(0);
    expect(root.id).toBeGreaterThan(0n);
    expect(() => parseCgroup(`${mount}/no-such-cgroup-here`)).toThrow(/does not exist/);
    expect(() => parseCgroup('/etc')).toThrow(/not under the cgroup v2 mount/);
  });
});

describe('parseArgs: every complaint of the parser is a usage error', () => {
  const spec: ToolSpec = {
    name: 'demo',
    version: '1.0.0',
    summary: 'a demo',
    examples: [],
    options: { extra: { type: 'boolean', describe: 'an own option' } },
    common: ['pid', 'duration', 'uid'],
  };
  it('a missing value names the option', () => {
    expect(() => parseArgs(spec, ['-p'])).toThrow(UsageError);
    expect(() => parseArgs(spec, ['-p'])).toThrow(/^-p needs a value$/);
    expect(() => parseArgs(spec, ['--duration'])).toThrow(/^--duration needs a value$/);
    expect(() => parseArgs(spec, ['--uid', '--extra'])).toThrow(/^--uid needs a value$/);
  });
  it('an unknown option', () => {
    expect(() => parseArgs(spec, ['--bogus'])).toThrow(UsageError);
  });
  it('good input parses, a repeated single-value option keeps the last', () => {
    expect(parseArgs(spec, ['-p', '12', '--extra', '-d', '1', '-d', '2'])).toMatchObject({ pid: '12', extra: true, duration: '2' });
  });
});
