/** The positional CATEGORY:EVENT, taken out of argv before the option parser (which accepts none). */
import { allOptions, type ToolSpec } from '@bpf-recipes/cli';
import { UsageError } from '@bpf-recipes/core';

export interface Tracepoint {
  category: string;
  event: string;
}

/**
 * Split argv into options and positionals. Values of options that take one (`-p 1`, `--cgroup X`)
 * stay with their option; everything after `--` is positional.
 */
export function splitPositionals(spec: ToolSpec, argv: readonly string[]): { options: string[]; positionals: string[] } {
  const table = allOptions(spec);
  const takesValue = new Set<string>();
  for (const [name, o] of Object.entries(table)) {
    if (o.type !== 'string') continue;
    takesValue.add(`--${name}`);
    if (o.alias) takesValue.add(`-${o.alias}`);
  }
  const options: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a.length > 1) {
      options.push(a);
      if (takesValue.has(a) && i + 1 < argv.length) options.push(argv[++i]);
      continue;
    }
    positionals.push(a);
  }
  return { options, positionals };
}

export function parseTracepoint(positionals: readonly string[]): Tracepoint {
  if (positionals.length === 0) throw new UsageError('name the tracepoint to count stacks at, as CATEGORY:EVENT (e.g. sched:sched_switch)');
  if (positionals.length > 1) throw new UsageError(`one tracepoint only, got ${positionals.length}: ${positionals.join(' ')}`);
  const m = /^([A-Za-z0-9_]+):([A-Za-z0-9_]+)$/.exec(positionals[0]);
  if (!m) throw new UsageError(`'${positionals[0]}' is not a tracepoint name: use CATEGORY:EVENT (e.g. syscalls:sys_enter_openat)`);
  return { category: m[1], event: m[2] };
}

/** -i/--interval: shared with the other stack tools */
export { parseInterval } from '@bpf-recipes/stacks/options';
