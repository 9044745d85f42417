/*
 * The kernel's types for CO-RE, of the architecture being compiled for (-D__TARGET_ARCH_x86 or
 * -D__TARGET_ARCH_arm64, as scripts/build-bpf.mjs passes): bpftool btf dump ... format c of
 *   x86/vmlinux.h    the x86_64 kernel's BTF (/sys/kernel/btf/vmlinux)
 *   arm64/vmlinux.h  Debian's arm64 kernel's BTF (linux-image-6.1.0-57-arm64-unsigned, the .BTF
 *                    blob of its Image: scripts/vmlinux-btf.mjs)
 * Field offsets are relocated at load time (CO-RE), so one header serves every kernel of its
 * architecture; what differs between architectures is pt_regs and the like.
 */
#if defined(__TARGET_ARCH_x86)
#include "x86/vmlinux.h"
#elif defined(__TARGET_ARCH_arm64)
#include "arm64/vmlinux.h"
#else
#error "compile with -D__TARGET_ARCH_x86 or -D__TARGET_ARCH_arm64 (scripts/build-bpf.mjs does)"
#endif
