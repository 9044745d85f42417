/**
 * Attaching entry/return uprobe pairs to code that may be running already (see recipes.h, "Calls
 * into user-space functions"). A call that enters after its entry probe but before its return
 * probe would leave a per-thread record nobody clears: so the thread-exit cleanup goes first, then
 * every return probe, and the entry probes last. A call caught half-way is then either not seen at
 * all, or seen returning without a record (ignored).
 */
import { BpfError, PreflightError, type BpfObject } from '@bpf-recipes/core';

export interface UprobeCall {
  /** the ELF file (library or executable) */
  binary: string;
  /** only this process (-1: all) */
  pid: number;
  /** the function's symbol */
  func: string;
  /** entry (uprobe) program */
  entry: string;
  /** return (uretprobe) program */
  ret: string;
  /** read by the entry program with bpf_get_attach_cookie() */
  cookie?: number;
}

/**
 * Attach the object's tracepoint programs (the RECIPES_UCALL_CLEANUP ones among them), then the
 * return probe of every call, then the entry probes. A function that cannot be probed (missing
 * symbol, stripped library) is skipped with a -v note; returns the calls attached.
 */
export function attachUprobeCalls(obj: BpfObject, calls: UprobeCall[], verbose: (m: string) => void): UprobeCall[] {
  const cleanup = obj.attachAll();
  if (!cleanup.some((p) => p.endsWith('_thread_exit'))) throw new PreflightError(`${obj.path} has no per-thread cleanup program (RECIPES_UCALL_CLEANUP)`);
  verbose(`attached ${cleanup.join(', ')}`);
  const where = (c: UprobeCall) => `${c.func} in ${c.binary}${c.pid > 0 ? ` (PID ${c.pid})` : ''}`;
  const skip = (c: UprobeCall, e: unknown) => {
    if (!(e instanceof BpfError)) throw e;
    verbose(`skipping ${where(c)}: ${e.message}`);
  };
  const returns = calls.filter((c) => {
    try {
      obj.attachUprobe(c.ret, { binary: c.binary, func: c.func, pid: c.pid, retprobe: true });
      return true;
    } catch (e) {
      skip(c, e);
      return false;
    }
  });
  // a return probe left without its entry probe sees no record and reports nothing
  return returns.filter((c) => {
    try {
      obj.attachUprobe(c.entry, { binary: c.binary, func: c.func, pid: c.pid, cookie: c.cookie });
      verbose(`attached ${where(c)}`);
      return true;
    } catch (e) {
      skip(c, e);
      return false;
    }
  });
}
