/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the tools that count stacks in the kernel share (stackcount, profile, offcputime, syslatency):
 * the map of kernel stacks, the ids of the current task's stacks for a counts key (the user one
 * walked by recipes_unwind.h, included here), and one more of a key in a hash of counts (a stack
 * that could not be stored and a full map are counted with recipes.h's RECIPES_MISSED()). Include
 * after recipes.h.
 */
#ifndef __RECIPES_STACKS_H
#define __RECIPES_STACKS_H

#ifndef EFAULT
#define EFAULT 14
#endif

/* stack ids of a key besides those of a stack map (each tool's header names them for user space) */
#define RECIPES_NO_STACK (-1)     /* not asked for, or no such stack */
#define RECIPES_MISSED_STACK (-2) /* could not be stored: counted in `missed` */

/* The BPF_MAP_TYPE_STACK_TRACE map NAME of stacks up to DEPTH frames (user space sets its size:
 * --stack-storage-size). */
#define RECIPES_STACK_MAP(NAME, DEPTH)                                                  \
	struct {                                                                        \
		__uint(type, BPF_MAP_TYPE_STACK_TRACE);                                 \
		__uint(max_entries, 16384);                                             \
		__uint(key_size, sizeof(__u32));                                        \
		__uint(value_size, (DEPTH) * sizeof(__u64));                            \
	} NAME SEC(".maps")

/*
 * The current task's stack in `stacks` (flags 0: the kernel's; BPF_F_USER_STACK: the user one):
 * its id; `none` when there is no such stack (-EFAULT: a sample taken in user mode has no kernel
 * stack, a kernel thread no user stack); `missed` when it could not be stored (a collision, no
 * room), which the caller counts and shows as a missed stack, never drops.
 */
static __always_inline __s32 recipes_stack_id(void *ctx, void *stacks, __u64 flags, __s32 none, __s32 missed)
{
	long r = bpf_get_stackid(ctx, stacks, flags);

	if (r >= 0)
		return r;
	return r == -EFAULT ? none : missed;
}

/* The value of a counts hash: how many times, and the comm of the task that made the key first. */
struct recipes_stack_count {
	__u64 count;
	char comm[16];
};

/*
 * One more of `key` in `counts` (a hash whose values are laid out as struct recipes_stack_count):
 * a new key starts with the current task's comm (recipes_init_lookup(): one another CPU made
 * meanwhile is added to). False when the map is full (the occurrence is not counted: the caller
 * counts that).
 */
static __always_inline bool recipes_count_stack(void *counts, const void *key)
{
	struct recipes_stack_count *v = bpf_map_lookup_elem(counts, key);

	if (!v) { /* the comm only for a new key: most are not */
		struct recipes_stack_count init = {};

		bpf_get_current_comm(init.comm, sizeof(init.comm));
		v = recipes_init_lookup(counts, key, &init);
		if (!v)
			return false;
	}
	__sync_fetch_and_add(&v->count, 1);
	return true;
}

#include "recipes_unwind.h"

/*
 * The stacks of a counts key: *kstack and *ustack set to the ids of the current task's kernel stack
 * (in `stacks`) and user stack (recipes_user_stack_id()) when `kernel` and `user` ask for them, left
 * as they are otherwise; RECIPES_NO_STACK where there is none, RECIPES_MISSED_STACK where it could
 * not be stored, which is counted in the RECIPES_MISSED() counters `missed` at `kernel_missed` or
 * `user_missed` (shown as a missed stack, never dropped).
 */
static __always_inline void recipes_key_stacks(void *ctx, void *stacks, bool kernel, bool user, __s32 *kstack,
					       __s32 *ustack, void *missed, __u32 kernel_missed, __u32 user_missed)
{
	if (kernel) {
		*kstack = recipes_stack_id(ctx, stacks, 0, RECIPES_NO_STACK, RECIPES_MISSED_STACK);
		if (*kstack == RECIPES_MISSED_STACK)
			recipes_count_in(missed, kernel_missed);
	}
	if (user) {
		*ustack = recipes_user_stack_id(ctx, stacks, RECIPES_NO_STACK, RECIPES_MISSED_STACK);
		if (*ustack == RECIPES_MISSED_STACK)
			recipes_count_in(missed, user_missed);
	}
}

#endif /* __RECIPES_STACKS_H */
