/** offcputime's command line: the one table behind --help and the man page. */
import type { ToolSpec } from '@bpf-recipes/cli';
import { packageVersion } from '@bpf-recipes/runtime';
import { USER_STACKS_NOTE, stackOptionSpecs, type StackArgs } from '@bpf-recipes/stacks/options';

const stack = stackOptionSpecs('microseconds off CPU');

export const spec: ToolSpec = {
  name: 'offcputime',
  version: packageVersion(import.meta.url),
  summary:
    'Time spent blocked (off CPU), summed in the kernel by kernel and user stack, with the process that blocked; as text, folded lines, speedscope, pprof or an SVG flame graph.',
  examples: [
    ['offcputime', 'every task, kernel and user stacks, printed at Ctrl-C'],
    ['offcputime -p 181 -d 10', 'PID 181 for 10 seconds'],
    ['offcputime --state D', 'only blocks that start in uninterruptible sleep (disk I/O, locks)'],
    ['offcputime -m 10ms -K', 'kernel stacks only, blocks of 10 ms or more'],
    ['offcputime -M 1000', 'only blocks of at most 1000 µs'],
    ['offcputime -i 5 -K --format folded', 'every 5 seconds, the blocks that ended since the last print'],
    ['offcputime -P --name nginx', 'per process (PID) of the programs whose name contains nginx'],
    ['offcputime --format folded -d 10 > out.folded', 'folded lines for flamegraph.pl or speedscope'],
    ['offcputime --format svg -o offcpu.svg -d 10', 'an interactive off-CPU flame graph: open offcpu.svg in a browser'],
    ['offcputime --format pprof -o offcpu.pb.gz -d 30', 'for go tool pprof, Pyroscope or Parca'],
  ],
  options: {
    kernel: stack.kernel,
    user: stack.user,
    'per-process': stack['per-process'],
    interval: { alias: 'i', type: 'string', arg: 'SEC', describe: 'print every SEC seconds (blocks that ended since the last print); default: only at the end' },
    state: {
      type: 'string',
      arg: 'STATES',
      describe:
        'only blocks that start in these task states: R (preempted), S (sleeping), D (uninterruptible), I (idle kernel threads), T (stopped), other, all (default), comma-separated; ' +
        "or one number, the kernel's task state matched exactly (as libbpf-tools' offcputime --state)",
    },
    'min-block': { alias: 'm', type: 'string', arg: 'TIME', describe: 'only blocks at least this long: microseconds, or with a unit (ns, us, ms, s); default 1us' },
    'max-block': { alias: 'M', type: 'string', arg: 'TIME', describe: 'only blocks at most this long (same units); default: no limit' },
    'stack-storage-size': stack['stack-storage-size'],
    format: stack.format,
    output: stack.output,
    'frame-pointers': stack['frame-pointers'],
    'unwind-memory': stack['unwind-memory'],
  },
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'json', 'verbose'],
  notes:
    'A block is timed from the moment a task is switched out (sched_switch, its stacks taken then) to the moment it is ' +
    'switched back in, and added in the kernel to its (process, kernel stack, user stack). Numbers are microseconds off CPU. ' +
    'Filters (-p, -t, -u, --name, --cgroup) and --state apply to the task that blocks. A task still off CPU when tracing ' +
    'ends is not counted (its block has not ended). Stacks are named as stackcount names them: kernel frames from ' +
    '/proc/kallsyms (the frames of the BPF program and its tracepoint at the top left out), user frames through the ' +
    "process's maps, ELF symbols, debug files and JIT perf maps. " +
    USER_STACKS_NOTE +
    'A process must still run when its stacks are named (once a second while tracing). A frame that cannot be ' +
    'named is printed as [unknown] (module+0xADDR). Stacks that could not be stored in the kernel are counted under ' +
    '[missed kernel stack] / [missed user stack] and reported on stderr. ' +
    "C++ names are demangled by the system's libstdc++ (mangled where it is missing: -v says so).",
};

export interface OffcputimeArgs extends StackArgs {
  interval?: string;
  state?: string;
  'min-block'?: string;
  'max-block'?: string;
}
