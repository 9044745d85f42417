/** syscount's command line: the one table behind --help and the man page. */
import type { ToolSpec } from '@bpf-recipes/cli';
import { packageVersion } from '@bpf-recipes/runtime';

export const spec: ToolSpec = {
  name: 'syscount',
  version: packageVersion(import.meta.url),
  summary: 'Count system calls: which, how many, how many failed, how slow, and by which processes — aggregated in the kernel.',
  examples: [
    ['syscount', 'top syscalls and top processes, printed at Ctrl-C'],
    ['syscount -i 1', 'every second, with a [HH:MM:SS] header'],
    ['syscount -p 181 -L', 'PID 181 only, with total and average time per syscall'],
    ['syscount -x -i 5', 'only failed calls, every 5 seconds'],
    ['syscount -e ENOENT', 'only calls that failed with ENOENT'],
    ['syscount -P --top 20', 'by process only, top 20'],
    ['syscount --syscall read,write --hist', 'read and write only, with a log2 latency histogram each'],
    ['syscount -l', 'print the syscall table of this architecture'],
  ],
  options: {
    top: { type: 'string', arg: 'N', describe: 'print the top N rows of each table (default 10)' },
    interval: { alias: 'i', type: 'string', arg: 'SEC', describe: 'print every SEC seconds (counts since the last print); 0: only at the end (the default)' },
    failures: { alias: 'x', type: 'boolean', describe: 'count only failed calls' },
    errno: { alias: 'e', type: 'string', arg: 'NAME|NUM', describe: 'count only calls that failed with this errno (ENOENT or 2)' },
    latency: { alias: 'L', type: 'boolean', describe: 'add total and average time per syscall (and per process)' },
    milliseconds: { alias: 'm', type: 'boolean', describe: 'times in milliseconds (default: microseconds)' },
    process: { alias: 'P', type: 'boolean', describe: 'group by process only' },
    syscall: { type: 'string', arg: 'NAME[,NAME...]', describe: 'only these syscalls (filtered in the kernel)' },
    list: { alias: 'l', type: 'boolean', describe: 'print the syscall table (number and name) and exit' },
    hist: { type: 'boolean', describe: 'a log2 latency histogram per syscall (implies -L)' },
  },
  metricsBy: true,
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'json', 'verbose'],
  notes:
    'Counts are taken at syscall exit, from raw_syscalls:sys_exit through a BTF tracepoint (the classic tracepoint ' +
    'where BTF tracepoints are missing), and count what strace -f -c counts: a call that never returns (exit, ' +
    'exit_group) is not counted; a fork-like call (clone, clone3, fork, vfork) returns twice, in the parent and ' +
    'in the new task, and is counted once (the new task\'s 0 is skipped); rt_sigreturn exits under syscall ' +
    'number -1 (it restores the interrupted registers) and is counted as rt_sigreturn, an error when the value ' +
    'it restores is one (an interrupted call\'s -EINTR), as strace has it. ERRORS counts returns below 0. With ' +
    '-i each table holds the calls since the previous one. Still unlike strace -c: a call that a debugger ' +
    'skips by setting its number to -1 (strace --inject does) is counted as rt_sigreturn; with -L a call ' +
    'that was entered before the tool attached, or before a filter matched it (the execve that gives -n its ' +
    'comm), is not counted (it has no start time); times are kernel-measured, without ptrace\'s stops.',
};

export interface SyscountArgs {
  top?: string;
  interval?: string;
  failures?: boolean;
  errno?: string;
  latency?: boolean;
  milliseconds?: boolean;
  process?: boolean;
  syscall?: string;
  list?: boolean;
  hist?: boolean;
}
