/**
 * python-exec-hook's Prometheus series (the per-tool metrics contract, libs/metrics/README.md):
 * register() for `python-exec-hook --metrics` and the exporter, open() for the exporter. The exec
 * program counts each new Python process once in this CPU's slot of `execs`, making the whole
 * --match itself (^NAME, ^NAME$ or ^NAME[0-9.]*$, the default), after the filters, next to the ring
 * buffer's record; a scrape sums the CPUs. Nothing per event in user space.
 */
import type { Session } from '@bpf-recipes/runtime';
import type { ToolMetrics, Metrics } from '@bpf-recipes/metrics';
import { type PythonExecHookSkel } from './generated/python-exec-hook.js';
import { setup } from './trace.js';

/** The exporter's options for python-exec-hook (its config file), named as the command's options. */
export interface PythonExecMetricsOptions {
  /** --match: ^NAME, ^NAME$ or ^NAME[0-9.]*$ (default ^python[0-9.]*$) */
  match?: string;
}

/** The exporter: python-exec-hook's programs counting into execs, no event sent. */
export function open(session: Session, o: PythonExecMetricsOptions): PythonExecHookSkel {
  return setup(session, { match: o.match }, { metrics: true, events: false }).skel;
}

/** Python processes started since attach, summed over the CPUs. */
export const pythonExecs = (skel: PythonExecHookSkel): number =>
  skel.maps.execs.lookupPerCpu(Buffer.alloc(4)).reduce((s, v) => s + Number(v.readBigUInt64LE(0)), 0);

export function register(m: Metrics, skel: PythonExecHookSkel): void {
  m.counter('python_execs_total', 'new Python processes (executables matching --match), each counted once however often it execs', () =>
    [{ labels: {}, value: pythonExecs(skel) }]);
}

/** The exporter's typed entry (`@bpf-recipes/python-exec-hook/metrics`): the config's options, open(), register(). */
export const metrics: ToolMetrics<Session, PythonExecMetricsOptions, PythonExecHookSkel> = { options: { match: 'string' }, open, register };
