/** @bpf-recipes/python-exec-hook as a library: the same tracing the python-exec-hook command runs. */
export { trace, type PythonExecOptions, type PythonExecRecord } from './trace.js';
export type { Event } from './generated/python-exec-hook.js';
export { PreflightError, UsageError, LoadError, AttachError, BpfError, RecipesError } from '@bpf-recipes/core';
