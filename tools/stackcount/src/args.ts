/** The positional CATEGORY:EVENT, taken out of argv before the option parser (which accepts none). */
import { UsageError } from '@bpf-recipes/core';

export interface Tracepoint {
  category: string;
  event: string;
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
