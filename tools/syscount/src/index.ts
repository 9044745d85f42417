/** @bpf-recipes/syscount as a library: the same in-kernel counting the syscount command reads. */
export { start, type SyscountOptions, type SyscountSnapshot, type SyscallRow, type ProcessRow } from './tool.js';
export { SYSCOUNT_MAX_NR, SYSCOUNT_HIST_SLOTS } from './generated/syscount.js';
export { PreflightError, UsageError, LoadError, AttachError, BpfError, RecipesError } from '@bpf-recipes/core';
