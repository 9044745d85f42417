/** @bpf-recipes/gethostlatency as a library: the same tracing the gethostlatency command runs. */
export { trace, toRecord, type GethostlatencyOptions, type GethostlatencyRecord } from './tool.js';
export { FUNCS } from './names.js';
export type { Event } from './generated/gethostlatency.js';
export { PreflightError, UsageError, LoadError, AttachError, BpfError, RecipesError } from '@bpf-recipes/core';
