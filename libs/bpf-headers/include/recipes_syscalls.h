/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the syscall tools (syscount, syslatency) share on the kernel side:
 *   - which syscall a sys_exit stands for (recipes_exit_nr(): a fork-like call and rt_sigreturn
 *     are each one call, as strace -c counts them);
 *   - the --syscall filter, a bitmap of numbers set as read-only config;
 *   - a call's start time: task-local storage for the BTF tracepoints, an LRU hash by TID for the
 *     classic ones;
 *   - RECIPES_SYSCALL_PROGS(), the two program pairs on raw_syscalls sys_enter/sys_exit: tp_btf
 *     (5.5+, the cheapest hook) and the classic tracepoints, of which user space loads one
 *     (libs/cli loadPreferringBtf()).
 * The numbers of the syscalls named below are set by user space from libs/format's syscall table
 * (syscallExitConfig()): -1 where the architecture has no such call.
 */
#ifndef __RECIPES_SYSCALLS_H
#define __RECIPES_SYSCALLS_H

/* after recipes.h (not included here: a tool's object includes each header once) */
#ifndef __BPF_RECIPES_H
#error "include recipes.h before recipes_syscalls.h"
#endif

#define RECIPES_MAX_SYSCALLS 1024

const volatile __s32 cfg_nr_clone = -1;       /* fork-like: the child returns from them too */
const volatile __s32 cfg_nr_clone3 = -1;
const volatile __s32 cfg_nr_fork = -1;
const volatile __s32 cfg_nr_vfork = -1;
const volatile __s32 cfg_nr_rt_sigreturn = -1;
const volatile bool cfg_filter_syscalls = false;
const volatile __u8 cfg_syscalls[RECIPES_MAX_SYSCALLS / 8] = {}; /* --syscall: bitmap of numbers */

/* start times: task-local storage for tp_btf, an LRU hash by TID for the classic tracepoints (a
 * thread that dies inside a call leaves its entry behind: the LRU reclaims it) */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} start_task SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start_tid SEC(".maps");

/* Is syscall `nr` one of --syscall's (or is there no such filter)? */
static __always_inline bool recipes_syscall_wanted(long nr)
{
	if (nr < 0 || nr >= RECIPES_MAX_SYSCALLS)
		return false;
	if (cfg_filter_syscalls &&
	    !(cfg_syscalls[(nr >> 3) & (RECIPES_MAX_SYSCALLS / 8 - 1)] & (1 << (nr & 7))))
		return false;
	return true;
}

/*
 * The syscall a sys_exit stands for, or -1 when it is no call of its own:
 *  - a fork-like call (clone, clone3, fork, vfork) passes sys_exit twice, in the parent (the
 *    child's id, or an error) and in the new task (0, from ret_from_fork): the zero return is
 *    the same call, not counted again. Only the new task ever sees 0, threads included.
 *  - rt_sigreturn restores the registers of the interrupted code, orig_ax with them (-1 on
 *    x86), so its sys_exit reports syscall number -1 and the restored return value: it is
 *    rt_sigreturn, with that value (an interrupted call's -EINTR is an error, as strace has it).
 */
static __always_inline long recipes_exit_nr(long nr, long ret)
{
	if (nr == -1)
		return cfg_nr_rt_sigreturn;
	if (ret == 0 && (nr == cfg_nr_clone || nr == cfg_nr_clone3 || nr == cfg_nr_fork || nr == cfg_nr_vfork))
		return -1;
	return nr;
}

/*
 * The syscall number in the registers tp_btf/sys_exit hands over: what raw_syscalls:sys_exit's id
 * is (syscall_get_nr()), -1 after rt_sigreturn on both (x86 restores orig_ax, arm64's
 * restore_sigframe() sets syscallno to -1; x8, where the call's number came in, is the
 * interrupted code's again).
 */
static __always_inline long recipes_regs_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	return (int)regs->syscallno;
#else
	return -1;
#endif
}

/*
 * Four programs PREFIX_btf_enter/_btf_exit (tp_btf) and PREFIX_tp_enter/_tp_exit (tracepoint).
 * TIMED (a config expression, pruned by the verifier when false) says whether calls are timed:
 * when it is not, the exit looks up no start time. They call the tool's
 *   bool ENTER(long nr)                       at entry: start timing this call?
 *   void EXIT(void *ctx, long nr, long ret, __u64 *start)
 *                                             at exit: ctx the program's (for a stack walk), nr
 *                                             from recipes_exit_nr() (>= 0), start the entry's
 *                                             time slot (NULL or 0: none; EXIT zeroes what it used)
 * Without TIMED, ENTER should return false (nothing to time) and EXIT gets start == NULL.
 */
#define RECIPES_SYSCALL_PROGS(PREFIX, TIMED, ENTER, EXIT)                                            \
	SEC("tp_btf/sys_enter")                                                                 \
	int BPF_PROG(PREFIX##_btf_enter, struct pt_regs *regs, long id)                         \
	{                                                                                       \
		__u64 *t;                                                                       \
		if (!ENTER(id))                                                                 \
			return 0;                                                               \
		t = bpf_task_storage_get(&start_task, bpf_get_current_task_btf(), 0,            \
					 BPF_LOCAL_STORAGE_GET_F_CREATE);                       \
		if (t)                                                                          \
			*t = bpf_ktime_get_ns();                                                \
		return 0;                                                                       \
	}                                                                                       \
	SEC("tp_btf/sys_exit")                                                                  \
	int BPF_PROG(PREFIX##_btf_exit, struct pt_regs *regs, long ret)                         \
	{                                                                                       \
		long nr = recipes_exit_nr(recipes_regs_nr(regs), ret);                          \
		if (!recipes_syscall_wanted(nr))                                                \
			return 0;                                                               \
		EXIT(ctx, nr, ret, (TIMED) ? bpf_task_storage_get(&start_task, bpf_get_current_task_btf(), 0, 0) : NULL); \
		return 0;                                                                       \
	}                                                                                       \
	SEC("tracepoint/raw_syscalls/sys_enter")                                                \
	int PREFIX##_tp_enter(struct trace_event_raw_sys_enter *ctx)                            \
	{                                                                                       \
		__u32 tid;                                                                      \
		__u64 now;                                                                      \
		if (!ENTER(ctx->id))                                                            \
			return 0;                                                               \
		tid = (__u32)bpf_get_current_pid_tgid();                                        \
		now = bpf_ktime_get_ns();                                                       \
		bpf_map_update_elem(&start_tid, &tid, &now, BPF_ANY);                           \
		return 0;                                                                       \
	}                                                                                       \
	SEC("tracepoint/raw_syscalls/sys_exit")                                                 \
	int PREFIX##_tp_exit(struct trace_event_raw_sys_exit *ctx)                              \
	{                                                                                       \
		__u32 tid = (__u32)bpf_get_current_pid_tgid();                                  \
		long nr = recipes_exit_nr(ctx->id, ctx->ret);                                   \
		__u64 *t;                                                                       \
		if (!recipes_syscall_wanted(nr))                                                \
			return 0;                                                               \
		t = (TIMED) ? bpf_map_lookup_elem(&start_tid, &tid) : NULL;                     \
		EXIT(ctx, nr, ctx->ret, t);                                                          \
		if (t)                                                                          \
			bpf_map_delete_elem(&start_tid, &tid);                                  \
		return 0;                                                                       \
	}

#endif /* __RECIPES_SYSCALLS_H */
