/** @bpf-recipes/stackcount as a library: the command's tracing, typed. */
export { start, setup, stackcountConfig, type StackcountOptions, type StackcountConfig, type Counter, type CountedStack, type Snapshot } from './trace.js';
export { parseTracepoint, type Tracepoint } from './args.js';
export type { Aggregation } from '@bpf-recipes/runtime';
export type { Missed } from '@bpf-recipes/stacks';
export { PreflightError, UsageError, LoadError, AttachError, BpfError, RecipesError } from '@bpf-recipes/core';
