/** @bpf-recipes/sslsnoop as a library: the same tracing the sslsnoop command runs. */
export { trace, toRecord, type SslsnoopOptions, type SslsnoopRecord } from './tool.js';
export { FUNC_NAMES, LIBRARIES, direction, libraryOf } from './probes.js';
export type { Event } from './generated/sslsnoop.js';
export { PreflightError, UsageError, LoadError, AttachError, BpfError, RecipesError } from '@bpf-recipes/core';
