/** What the syscall tools (syscount, syslatency) share in user space: the hook choice of recipes_syscalls.h. */
import { PreflightError, UsageError } from '@bpf-recipes/core';
import type { Session } from './session.js';

/**
 * Open, load and attach with the BTF tracepoints (`attempt(true)`); where they cannot load (a
 * kernel before 5.5, no task storage), again with the classic raw_syscalls tracepoints
 * (`attempt(false)`), noted under -v. A usage or preflight error is not retried.
 * BPF_RECIPES_SYSCALL_HOOKS=tracepoint starts with the classic ones (to test that path on a kernel
 * that has both).
 */
export function loadPreferringBtf<T>(session: Session, attempt: (btf: boolean) => T): T {
  const forced = process.env.BPF_RECIPES_SYSCALL_HOOKS || undefined;
  if (forced !== undefined && forced !== 'tp_btf' && forced !== 'tracepoint') {
    throw new UsageError(`BPF_RECIPES_SYSCALL_HOOKS=${forced}: give tp_btf or tracepoint`);
  }
  if (forced === 'tracepoint') {
    session.verbose('raw_syscalls tracepoints (BPF_RECIPES_SYSCALL_HOOKS=tracepoint)');
    return attempt(false);
  }
  try {
    return attempt(true);
  } catch (e) {
    if (e instanceof UsageError || e instanceof PreflightError) throw e;
    session.verbose(`BTF tracepoints unavailable (${(e as Error).message}); using raw_syscalls tracepoints`);
    return attempt(false);
  }
}
