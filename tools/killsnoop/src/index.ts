/** @bpf-recipes/killsnoop as a library: the same tracing the killsnoop command runs. */
export { trace, toRecord, type KillsnoopOptions, type KillsnoopRecord } from './tool.js';
export { KsSource, type Event } from './generated/killsnoop.js';
export { PreflightError, UsageError, LoadError, AttachError, BpfError, RecipesError } from '@bpf-recipes/core';
