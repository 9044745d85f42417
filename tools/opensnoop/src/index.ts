/** @bpf-recipes/opensnoop as a library: the same tracing the opensnoop command runs. */
export { trace, toRecord, CALLS, type CallName, type OpensnoopOptions, type OpensnoopRecord } from './tool.js';
export type { Event } from './generated/opensnoop.js';
export { PreflightError, UsageError, LoadError, AttachError, BpfError, RecipesError } from '@bpf-recipes/core';
