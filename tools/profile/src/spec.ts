/** profile's command line: the one table behind --help and the man page. */
import type { ToolSpec } from '@bpf-recipes/cli';
import { packageVersion } from '@bpf-recipes/runtime';
import { stackOptionSpecs, type StackArgs } from '@bpf-recipes/stacks/options';
import { DEFAULT_FREQUENCY, MAX_FREQUENCY } from './cpus.js';

export const spec: ToolSpec = {
  name: 'profile',
  version: packageVersion(import.meta.url),
  summary: 'Sample the stacks (kernel and user) running on every CPU at a fixed frequency, counted in the kernel, with the process that ran them; as text, folded lines, speedscope, pprof or an SVG flame graph.',
  examples: [
    ['profile', `kernel and user stacks on every CPU, ${DEFAULT_FREQUENCY} samples a second per CPU, printed at Ctrl-C`],
    ['profile -F 99 -d 10', '99 samples a second per CPU, for 10 seconds'],
    ['profile -p 181 -U', 'user stacks of PID 181 only'],
    ['profile -K -I', 'kernel stacks only, the idle task included'],
    ['profile -P -d 5', 'split per process (PID) instead of per program name'],
    ['profile -i 10 --format folded > cpu.folded', 'every 10 seconds, the stacks sampled since the last print'],
    ['profile --format folded -d 10 > out.folded', 'folded lines for flamegraph.pl or speedscope'],
    ['profile --format svg -o cpu.svg -d 30', 'an interactive flame graph: open cpu.svg in a browser'],
    ['profile --format pprof -o cpu.pb.gz -d 30', 'for go tool pprof, Pyroscope or Parca'],
  ],
  options: {
    frequency: { alias: 'F', type: 'string', arg: 'HZ', describe: `samples a second on each CPU (default ${DEFAULT_FREQUENCY}; 1 to ${MAX_FREQUENCY}, and below kernel.perf_event_max_sample_rate)` },
    'include-idle': { alias: 'I', type: 'boolean', describe: 'count the idle task (pid 0, shown as swapper) too; left out by default, and always when a process filter is given' },
    interval: { alias: 'i', type: 'string', arg: 'SEC', describe: 'print every SEC seconds (the samples since the last print); default: only at the end' },
    ...stackOptionSpecs('count'),
  },
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'json', 'verbose'],
  notes:
    'One software cpu-clock perf event per online CPU, in frequency mode: each sample runs a BPF program that stores the ' +
    'interrupted stacks (bpf_get_stackid) and counts them in a hash map; nothing crosses into user space until the end. ' +
    'Stacks are named at the end and once a second while sampling: kernel frames from /proc/kallsyms, user frames ' +
    "through the process's /proc/PID/maps and its files' ELF symbols, separate debug files (build-id, .gnu_debuglink) " +
    'and JIT perf maps (/tmp/perf-PID.map: node --perf-basic-prof, python -X perf). User stacks are walked by frame ' +
    'pointers: code built without them gives short stacks. A frame that cannot be named is printed as [unknown] ' +
    '(module+0xADDR). Stacks that could not be stored in the kernel (stack map full, hash collision) are counted under ' +
    '[missed kernel stack] / [missed user stack] and reported on stderr. A sample in user mode has no kernel stack; ' +
    "a kernel thread's has no user stack. The tool's own process is never sampled.",
};

export interface ProfileArgs extends StackArgs {
  frequency?: string;
  interval?: string;
  'include-idle'?: boolean;
}
