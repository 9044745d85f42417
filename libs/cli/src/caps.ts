/**
 * --keep-capabilities, and what each tool keeps after attach when it does not (docs/fleet.md): the
 * exporter and a tool with --metrics give up every capability once all its programs are attached,
 * but for reading its maps on kernels before 6.5 (CAP_BPF, capsForMapReads()) and what the tool
 * itself still does afterwards, listed here.
 */
import { capsForMapReads, dropCapabilities, type CapName } from '@bpf-recipes/core';

/** what a tool still needs after attach beyond reading its maps, and why */
export const KEEP_AFTER_ATTACH: Record<string, { keep: CapName[]; why: string }> = {
  'python-exec-hook': { keep: ['CAP_SYS_PTRACE'], why: "names each new Python by /proc/PID/exe, which needs ptrace access to other users' and other root processes" },
  ...Object.fromEntries(['stackcount', 'offcputime', 'profile', 'syslatency'].map((t) => [t, {
    keep: ['CAP_SYS_PTRACE', 'CAP_DAC_READ_SEARCH', 'CAP_SYSLOG'] as CapName[],
    why: "names stacks: other processes' /proc/PID/maps and their binaries (ptrace access, files of any mode), kernel addresses in /proc/kallsyms",
  }])),
};

/**
 * Drop every capability but those `tool` keeps (the exporter: none of its own). The main thread has
 * dropped them when this returns; `done` reports once libuv's threads have too.
 */
export function dropAfterAttach(tools: string[], done: (line: string) => void): void {
  const keep = [...new Set([...capsForMapReads(), ...tools.flatMap((t) => KEEP_AFTER_ATTACH[t]?.keep ?? [])])];
  dropCapabilities(keep).then(
    (r) => done(`capabilities after attach: ${r.kept.length ? r.kept.join(' ') : 'none'} (${r.holding} of ${r.threads} threads, V8's own background threads, keep theirs)`),
    (e) => done(`capabilities could not be dropped: ${(e as Error).message}`),
  );
}
