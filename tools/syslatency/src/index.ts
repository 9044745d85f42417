/**
 * syslatency as a library: the same tracing the command runs (src/tool.ts).
 *
 *   import { start } from '@bpf-recipes/syslatency';
 *   const t = start({ syscalls: ['pwritev'], by: 'comm' });
 *   ...
 *   for (const h of t.snapshot().histograms) console.log(h.comm, h.count, h.slots);
 *   await t.close();
 */
export { start } from './tool.js';
export type { By, Histogram, Snapshot, SyslatencyOptions, StackHistogram } from './tool.js';
export { BY, STACK_BY, histogramKey } from './tool.js';
