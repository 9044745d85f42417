/** syslatency's command line: the one table behind --help and the man page. */
import type { ToolSpec } from '@bpf-recipes/cli';
import { packageVersion } from '@bpf-recipes/runtime';

export const spec: ToolSpec = {
  name: 'syslatency',
  version: packageVersion(import.meta.url),
  summary: 'Syscall latency as log2 histograms, per program name (or process, thread, syscall), aggregated in the kernel and printed every interval.',
  positionals: true,
  usage: '[SYSCALL...] [options]',
  examples: [
    ['syslatency pwritev pwritev2 -i 30', 'pwritev(2) latency per program, every 30 seconds (the talk\'s recipe; glibc\'s pwritev() may be pwritev2)'],
    ['syslatency', 'every syscall, one histogram per program, printed at Ctrl-C'],
    ['syslatency read write -p 181 --by syscall', 'read and write of PID 181, one histogram per syscall'],
    ['syslatency fsync fdatasync -m -d 60', 'in milliseconds, for one minute'],
    ['syslatency --by tid -n postgres', 'one histogram per thread of the programs whose name contains postgres'],
    ['syslatency nanosleep --json -i 1', 'one JSON object per program per second'],
    ['syslatency -l', 'print the syscall table of this architecture'],
  ],
  options: {
    interval: { alias: 'i', type: 'string', arg: 'SEC', describe: 'print every SEC seconds (the calls since the last print); default: only at the end' },
    by: { type: 'string', arg: 'comm|pid|tid|syscall', describe: 'one histogram per program name (comm, the default), process, thread or syscall' },
    milliseconds: { alias: 'm', type: 'boolean', describe: 'histograms in milliseconds (default: microseconds)' },
    list: { alias: 'l', type: 'boolean', describe: 'print the syscall table (number and name) and exit' },
  },
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'timestamp', 'json', 'verbose'],
  notes:
    'SYSCALL is a name of this architecture\'s table (syslatency -l) or a number; none: every syscall. A call is timed ' +
    'from raw_syscalls:sys_enter to sys_exit (BTF tracepoints, the classic tracepoints where those are missing), with ' +
    'the start time in task-local storage, and counted once, in the kernel, in a per-CPU histogram of its key: a ' +
    'fork-like call (clone, clone3, fork, vfork) returns twice and is counted once; rt_sigreturn exits under ' +
    'syscall number -1 and is counted as rt_sigreturn; a call that never returns (exit, exit_group) is not counted, ' +
    'nor a call entered before the tool attached. The ' +
    'filters apply at entry: a call is counted when the task that made it passed them. --by comm keys by the ' +
    'name at the call\'s return (an execve shows under the new program\'s name). Slots are log2 of the latency ' +
    'in microseconds (milliseconds with -m): [16, 32) holds 16 to 31. With -i each print holds the calls since ' +
    'the previous one; -T adds a [HH:MM:SS] line above each print (always there with -i).',
};

export interface SyslatencyArgs {
  interval?: string;
  by?: string;
  milliseconds?: boolean;
  list?: boolean;
}
