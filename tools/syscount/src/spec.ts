/** syscount's command line: the one table behind --help and the man page. */
import { packageVersion, type ToolSpec } from '@bpf-recipes/cli';

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
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'json', 'verbose'],
  notes:
    'Counts are taken at syscall exit (so a call that never returns, like exit_group, is not counted), from ' +
    'raw_syscalls:sys_exit through a BTF tracepoint (the classic tracepoint where BTF tracepoints are missing). ' +
    'ERRORS counts returns below 0. With -i each table holds the calls since the previous one.',
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
