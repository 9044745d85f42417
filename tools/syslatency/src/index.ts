/**
 * syslatency as a library: the same tracing the command runs (src/trace.ts).
 *
 *   import { start } from '@bpf-recipes/syslatency';
 *   const t = start({ syscalls: ['pwritev'], by: 'comm' });
 *   ...
 *   for (const h of t.snapshot().histograms) console.log(h.comm, h.count, h.slots);
 *   await t.close();
 */
import { aggregation, sessionOptions, type Aggregation } from '@bpf-recipes/runtime';
import { setup, type SyslatencyOptions, type Snapshot } from './trace.js';

export type { By, Histogram, Snapshot, SyslatencyOptions, StackHistogram } from './trace.js';
export { BY, STACK_BY, histogramKey } from './trace.js';

/**
 * Start timing syscalls in the kernel; snapshot() reads the histograms (totals since start),
 * close() detaches. Throws UsageError (bad options), PreflightError, LoadError or AttachError,
 * with nothing left attached. `log` receives -v's lines when `verbose` is set.
 */
export function start(options: SyslatencyOptions = {}, log?: (message: string) => void): Aggregation<Snapshot> {
  return aggregation(sessionOptions('syslatency', options, log), (session) => setup(session, options).snapshot);
}
