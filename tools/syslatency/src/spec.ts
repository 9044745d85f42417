/** syslatency's command line: the one table behind --help and the man page. */
import type { ToolSpec } from '@bpf-recipes/cli';
import { packageVersion } from '@bpf-recipes/runtime';
import { USER_STACKS_NOTE, stackOptionSpecs, type StackArgs } from '@bpf-recipes/stacks/options';

const stack = stackOptionSpecs('total latency in microseconds');

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
    ['syslatency pwritev pwritev2 --by ustack --min 100ms -m', 'the talk\'s "I/O latency correlated with stack": one histogram per user stack, calls of 100 ms or more only'],
    ['syslatency read --by stack --min 10ms -p 181 --format svg -o slow.svg', 'a flame graph of the slow reads of PID 181, weighted by their latency'],
    ['syslatency -l', 'print the syscall table of this architecture'],
  ],
  options: {
    interval: { alias: 'i', type: 'string', arg: 'SEC', describe: 'print every SEC seconds (the calls since the last print); default: only at the end' },
    by: {
      type: 'string',
      arg: 'comm|pid|tid|syscall|ustack|kstack|stack',
      describe: 'one histogram per program name (comm, the default), process, thread, syscall, or stack: the user stack that made the call (ustack), the kernel stack at its return (kstack), or both (stack), with its syscall',
    },
    min: { type: 'string', arg: 'TIME', describe: 'count only calls at least this long: a number with a unit (100ms, 500us, 2s) or microseconds; default 0. With a stack --by, faster calls cost no stack walk' },
    milliseconds: { alias: 'm', type: 'boolean', describe: 'histograms in milliseconds (default: microseconds)' },
    list: { alias: 'l', type: 'boolean', describe: 'print the syscall table (number and name) and exit' },
    'per-process': { ...stack['per-process'], describe: 'with a stack --by: one histogram per process (PID) instead of per program name (comm)' },
    'stack-storage-size': stack['stack-storage-size'],
    format: {
      ...stack.format,
      describe:
        'with a stack --by: text (frames leaf first, the comm, the histogram; the default); folded: `comm;root;...;leaf;SYSCALL(2) US` per line, ' +
        'weighted by the total latency in microseconds (flamegraph.pl); speedscope, pprof (two sample types: latency in microseconds, calls) or svg: one profile written at the end',
    },
    output: stack.output,
    'frame-pointers': stack['frame-pointers'],
    'unwind-memory': stack['unwind-memory'],
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
    'the previous one; -T adds a [HH:MM:SS] line above each print (always there with -i). ' +
    '--min drops faster calls in the kernel, for every --by. --by ustack, kstack and stack key each histogram by ' +
    '(program name, syscall, stacks); the stacks are walked at the call\'s return, and only for a call that passed ' +
    '--min. The user stack is the one that made the call (the task is still in it); the kernel stack at the return is ' +
    'the return path of the syscall, the same for most calls. Stacks are named as the stack tools name them (stackcount, ' +
    'profile): kernel frames from /proc/kallsyms, user frames through the process\'s maps, ELF symbols, debug files and ' +
    'JIT perf maps. ' + USER_STACKS_NOTE + 'Stacks that could not be stored are counted under [missed ... stack] and reported on stderr.',
};

export interface SyslatencyArgs extends Omit<StackArgs, 'kernel' | 'user'> {
  min?: string;
  interval?: string;
  by?: string;
  milliseconds?: boolean;
  list?: boolean;
}
