/** A named (or honestly unnamed) stack frame. */

export interface Frame {
  /** the captured instruction address */
  ip: bigint;
  /** the function's name; undefined when it could not be named */
  name?: string;
  /** ip − the function's start */
  offset?: bigint;
  /**
   * where the address lies: a file's basename (`libc.so.6`), `[kernel]`, `[anon]`, `[vdso]`,
   * `[perf-map]`; undefined when no mapping holds it (the process was gone, or the address is bad)
   */
  module?: string;
  /** for unnamed frames in a module: the address in it (the ELF virtual address when the file could be read, else the file offset) */
  moduleOffset?: bigint;
}

/**
 * The text of a frame in stacks and folded lines: its name, or `[unknown] (libfoo.so+0x1234)`
 * (`[unknown] (0x7f…)` outside every mapping). Never empty: unnamed frames are shown, not dropped.
 */
export function frameLabel(f: Frame): string {
  if (f.name !== undefined) return f.name;
  if (f.module !== undefined) return `[unknown] (${f.module}+0x${(f.moduleOffset ?? 0n).toString(16)})`;
  return `[unknown] (0x${f.ip.toString(16)})`;
}
