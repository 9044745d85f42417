/** What the syscall tools (syscount, syslatency) share in user space: the hook choice of recipes_syscalls.h. */
import { PreflightError, UsageError } from '@bpf-recipes/core';
import type { Session } from './session.js';

/**
 * Open, load and attach with the BTF tracepoints (`attempt(true)`); where they cannot load (a
 * kernel before 5.5, no task storage), again with the classic raw_syscalls tracepoints
 * (`attempt(false)`), noted under -v. A usage or preflight error is not retried.
 */
export function loadPreferringBtf<T>(session: Session, attempt: (btf: boolean) => T): T {
  try {
    return attempt(true);
  } catch (e) {
    if (e instanceof UsageError || e instanceof PreflightError) throw e;
    session.verbose(`BTF tracepoints unavailable (${(e as Error).message}); using raw_syscalls tracepoints`);
    return attempt(false);
  }
}
