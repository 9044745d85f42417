import { describe, expect, it } from 'vitest';
import { splitPositionals } from '@bpf-recipes/cli';
import { parseTracepoint } from '../src/args.js';
import { spec } from '../src/spec.js';

describe('CATEGORY:EVENT among the options', () => {
  it('leaves option values with their options, wherever the tracepoint stands', () => {
    expect(splitPositionals(spec, ['-p', '12', 'sched:sched_switch', '-K'])).toEqual({ options: ['-p', '12', '-K'], positionals: ['sched:sched_switch'] });
    // a cgroup path with a colon is --cgroup's value, not the tracepoint
    expect(splitPositionals(spec, ['--cgroup', '/sys/fs/cgroup/a:b', 'block:block_io_start'])).toEqual({
      options: ['--cgroup', '/sys/fs/cgroup/a:b'],
      positionals: ['block:block_io_start'],
    });
    // `--` and what follows is the command to run, for the option parser
    expect(splitPositionals(spec, ['--format=folded', 'x:y', '-d', '1', '--', 'dd', 'a:b'])).toEqual({ options: ['--format=folded', '-d', '1', '--', 'dd', 'a:b'], positionals: ['x:y'] });
  });

  it('parses CATEGORY:EVENT and refuses anything else with the fix', () => {
    expect(parseTracepoint(['syscalls:sys_enter_getppid'])).toEqual({ category: 'syscalls', event: 'sys_enter_getppid' });
    expect(() => parseTracepoint([])).toThrow(/CATEGORY:EVENT/);
    expect(() => parseTracepoint(['sched'])).toThrow(/'sched' is not a tracepoint name/);
    expect(() => parseTracepoint(['a:b:c'])).toThrow(/not a tracepoint name/);
    expect(() => parseTracepoint(['a:b', 'c:d'])).toThrow(/one tracepoint only/);
  });
});
