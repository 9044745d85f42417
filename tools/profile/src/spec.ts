/** profile's command line: the one table behind --help and the man page. */
import type { ToolSpec } from '@bpf-recipes/cli';
import { packageVersion } from '@bpf-recipes/runtime';
import { USER_STACKS_NOTE, stackOptionSpecs, type StackArgs } from '@bpf-recipes/stacks/options';
import { PERF_EVENTS, PerfType } from '@bpf-recipes/core';
import { DEFAULT_FREQUENCY, MAX_FREQUENCY } from './cpus.js';

const eventNames = (hw: boolean) => PERF_EVENTS.filter((e) => (e.type === PerfType.HARDWARE) === hw).map((e) => e.name).join(', ');

export const spec: ToolSpec = {
  name: 'profile',
  version: packageVersion(import.meta.url),
  summary: 'Sample the stacks (kernel and user) running on every CPU at a fixed frequency, or those that make an event (page faults, context switches, cache misses), counted in the kernel, with the process that ran them; as text, folded lines, speedscope, pprof or an SVG flame graph, or a count per process.',
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
    ['profile -e page-faults -c 1 -p 181', 'the stacks that fault pages in, every fault of PID 181'],
    ['profile -e page-faults --by comm -d 10', "page faults per program name (bpftrace's software:faults:1 { @[comm] = count(); })"],
    ['profile -e context-switches --format svg -o cs.svg', 'a flame graph of the stacks that give up the CPU'],
    ['profile -e cache-misses -c 1000000', 'every millionth last-level cache miss (where the machine has a PMU)'],
  ],
  options: {
    event: {
      alias: 'e',
      type: 'string',
      arg: 'EVENT',
      describe: `the perf event sampled: software ${eventNames(false)}; hardware ${eventNames(true)} (where the CPU's counters are visible; not in most VMs). Default cpu-clock`,
    },
    period: {
      alias: 'c',
      type: 'string',
      arg: 'N',
      describe: `sample every N events (nanoseconds for cpu-clock and task-clock); default for the other events: every one (software), every ${(1_000_000).toLocaleString('en')}th (hardware)`,
    },
    frequency: { alias: 'F', type: 'string', arg: 'HZ', describe: `cpu-clock and task-clock: samples a second on each CPU (default ${DEFAULT_FREQUENCY}; 1 to ${MAX_FREQUENCY}, and below kernel.perf_event_max_sample_rate)` },
    by: { type: 'string', arg: 'comm|pid', describe: "no stacks: the count per program name (comm) or process, as bpftrace's @[comm] = count()" },
    'include-idle': { alias: 'I', type: 'boolean', describe: 'count the idle task (pid 0, shown as swapper) too; left out by default, and always when a process filter is given' },
    interval: { alias: 'i', type: 'string', arg: 'SEC', describe: 'print every SEC seconds (the samples since the last print); default: only at the end' },
    ...stackOptionSpecs('count'),
  },
  common: ['pid', 'tid', 'uid', 'name', 'cgroup', 'duration', 'json', 'verbose'],
  notes:
    'One perf event per online CPU, for every process: cpu-clock in frequency mode (-F) by default, or the event of -e ' +
    'every -c N events; each sample runs a BPF program that stores the ' +
    'interrupted stacks and counts them in a hash map; nothing crosses into user space until the end. ' +
    'With -c (and for every event but the clocks) each stack\'s number is its samples times N: events (nanoseconds for a ' +
    'clock); the file formats name the event and that unit. A hardware event this machine has no counter for fails with ' +
    'exit 1 before anything is loaded; it is never replaced by another event. --by comm|pid counts without walking stacks. ' +
    'Stacks are named at the end and once a second while sampling: kernel frames from /proc/kallsyms, user frames ' +
    "through the process's /proc/PID/maps and its files' ELF symbols, separate debug files (build-id, .gnu_debuglink) " +
    'and JIT perf maps (/tmp/perf-PID.map: node --perf-basic-prof, python -X perf). ' +
    USER_STACKS_NOTE +
    'A frame that cannot be named is printed as [unknown] ' +
    '(module+0xADDR). Stacks that could not be stored in the kernel (stack map full, hash collision) are counted under ' +
    '[missed kernel stack] / [missed user stack] and reported on stderr. A sample in user mode has no kernel stack; ' +
    "a kernel thread's has no user stack. The tool's own process is never sampled.",
};

export interface ProfileArgs extends StackArgs {
  event?: string;
  period?: string;
  by?: string;
  frequency?: string;
  interval?: string;
  'include-idle'?: boolean;
}
