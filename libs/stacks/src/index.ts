/** What the stack tools share for tracing (their API needs no command line); the writers of their output: `@bpf-recipes/stacks/writer`. */
export { DEFAULT_UNWIND_MEMORY_MB, MAX_UNWIND_MEMORY_MB, MIN_UNWIND_MEMORY_MB, parseUnwindMemory, STACK_FORMATS, FILE_FORMATS, DEFAULT_STACK_STORAGE, MAX_STACK_STORAGE, stackOptionSpecs, parseStackArgs, stackArgsOf, parseInterval, checkInterval, whichStacks, type StackFormat, type StackArgs, type StackOptions } from './options.js';
export { StackNamer, MISSED_KERNEL_FRAME, MISSED_USER_FRAME, type StackNamerOptions } from './names.js';
export { StackTable, mergeRows, flameStack, jsonStack, type StackEntry, type NamedStack, type StackRow } from './table.js';
export { MissedStacks, missedNotes, type Missed, type MissedIndexes } from './missed.js';
export type { FlameFrame, FlameStack } from '@bpf-recipes/flame';
export { UserUnwinder, unwindChoice, finishUnwind, sizeUnwindMaps, startUnwinder, loadCommand, kernelDevOfStat, kernelDevOfMaps, type KnownMaps, unwindRows, unwindSummary, incompleteNotes, INCOMPLETE_USER_FRAME, UNWIND_INCOMPLETE_PC, type UnwindMaps, type UnwindStats, type UnwindChoice, type UserUnwinderOptions } from './unwind.js';
export { UnwindCache, unwindCacheDir, encodeRows, UNWIND_CACHE_FORMAT, UNWIND_CACHE_MAX_BYTES, type TableIdentity, type UnwindCacheStats } from './unwind-cache.js';
