/** stackcount's command line: the one table behind --help and the man page. */
import type { ToolSpec } from '@bpf-recipes/cli';
import { packageVersion } from '@bpf-recipes/runtime';
import { USER_STACKS_NOTE, stackOptionSpecs, type StackArgs } from '@bpf-recipes/stacks/options';

function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
}

export const spec: ToolSpec = {
  name: 'stackcount',
  version: packageVersion(import.meta.url),
  summary: 'Count the distinct stacks (kernel and user) that reach a tracepoint, with the process that ran them; as text, folded lines, speedscope, pprof or an SVG flame graph.',
  positionals: true,
  usage: 'CATEGORY:EVENT [options]',
  examples: [
    ['stackcount sched:sched_switch', 'kernel and user stacks that switch tasks out, printed at Ctrl-C'],
    ['stackcount -K syscalls:sys_enter_openat -d 5', 'kernel stacks only, for 5 seconds'],
    ['stackcount -U -p 181 syscalls:sys_enter_write', 'user stacks of PID 181 that write'],
    ['stackcount -P block:block_io_start', 'split per process (PID) instead of per program name'],
    ['stackcount --format folded sched:sched_switch -d 10 > out.folded', 'folded lines for flamegraph.pl or speedscope'],
    ['stackcount --format svg -o switch.svg sched:sched_switch -d 10', 'an interactive flame graph: open switch.svg in a browser'],
    ['stackcount --format pprof -o openat.pb.gz -U syscalls:sys_enter_openat', 'for go tool pprof, Pyroscope or Parca'],
    ['stackcount -i 5 syscalls:sys_enter_getppid', 'every 5 seconds, the stacks since the last print'],
    ['stackcount --stack-storage-size 65536 -K sched:sched_switch', 'room for more distinct stacks (fewer missed)'],
  ],
  options: {
    ...pick(stackOptionSpecs('count'), 'kernel', 'user', 'per-process'),
    interval: { alias: 'i', type: 'string', arg: 'SEC', describe: 'print every SEC seconds (counts since the last print); default: only at the end' },
    ...pick(stackOptionSpecs('count'), 'stack-storage-size', 'format', 'output', 'frame-pointers', 'unwind-memory'),
  },
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'json', 'verbose'],
  notes:
    'Stacks are taken in the kernel and named at each print: kernel frames from /proc/kallsyms ' +
    '(the frames of the BPF program and the tracepoint glue at the top are left out), user frames through the ' +
    "process's /proc/PID/maps and its files' ELF symbols, separate debug files (build-id, .gnu_debuglink) and JIT perf " +
    'maps (/tmp/perf-PID.map). ' +
    USER_STACKS_NOTE +
    'A process must still run when its stacks are named (they are named once a second while tracing). A frame that ' +
    'cannot be named is printed as [unknown] (module+0xADDR). Stacks that could not be stored in the kernel ' +
    '(stack map full, hash collision) are counted under [missed kernel stack] / [missed user stack] and reported on stderr. ' +
    "C++ names are demangled by the system's libstdc++ (mangled where it is missing: -v says so).",
};

export interface StackcountArgs extends StackArgs {
  interval?: string;
}
