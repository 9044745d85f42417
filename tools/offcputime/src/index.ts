/** @bpf-recipes/offcputime as a library: the command's tracing, typed. */
export { start, setup, offcpuConfig, type OffcputimeOptions, type OffcpuConfig, type Offcpu, type OffcpuStack, type Snapshot, type BlockMisses } from './trace.js';
export { parseState, parseBlockTime, parseBlockRange, type StateFilter, type BlockRange } from './args.js';
export type { Aggregation } from '@bpf-recipes/runtime';
export { PreflightError, UsageError, LoadError, AttachError, BpfError, RecipesError } from '@bpf-recipes/core';
