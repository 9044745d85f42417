/**
 * What the stack tests expect that differs between the architectures a tool runs on (x86_64 and
 * arm64): the compiler flags that give every function of a fixture a frame record, and the kernel
 * frames a system call enters through.
 */

/**
 * gcc flags for a fixture whose user stack the kernel walks by frame pointers. On arm64 gcc leaves
 * the frame record out of leaf functions even with -fno-omit-frame-pointer (-momit-leaf-frame-pointer
 * is its default there): a leaf that makes the system call itself would hide its caller.
 */
export const FRAME_POINTER_CFLAGS: readonly string[] = ['-fno-omit-frame-pointer', '-mno-omit-leaf-frame-pointer'];

/**
 * The kernel's side of a system call in a kernel stack (root first): its outermost frame, and one
 * frame every syscall passes through on the way to the handler. x86_64: entry_SYSCALL_64 →
 * do_syscall_64 → __x64_sys_…; arm64: el0t_64_sync (el0_sync before 5.13) → … el0_svc … →
 * invoke_syscall → __arm64_sys_….
 */
export const SYSCALL_ENTRY: { outermost: RegExp; through: string } =
  process.arch === 'arm64' ? { outermost: /^(el0t_64_sync|el0_sync)$/, through: 'el0_svc' } : { outermost: /^entry_SYSCALL_64/, through: 'do_syscall_64' };
