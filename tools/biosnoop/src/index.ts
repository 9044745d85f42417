/** @bpf-recipes/biosnoop as a library: the same tracing the biosnoop command runs. */
export { trace, start, toRecord, type BiosnoopOptions, type BiosnoopRecord, type BiosnoopSnapshot } from './tool.js';
export { BIOSNOOP_HIST_SLOTS, BIO_PAT_RANDOM, BIO_PAT_SEQUENTIAL, BIO_PAT_UNKNOWN, type Event } from './generated/biosnoop.js';
export { PreflightError, UsageError, LoadError, AttachError, BpfError, RecipesError } from '@bpf-recipes/core';
