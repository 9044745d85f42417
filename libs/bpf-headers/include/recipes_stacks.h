/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the tools that count stacks in the kernel share (stackcount, profile, offcputime): the id
 * of a stack for a counts key, and one more of a key in a hash of counts (a stack that could not be
 * stored and a full map are counted with recipes.h's RECIPES_MISSED()). Include after recipes.h.
 */
#ifndef __RECIPES_STACKS_H
#define __RECIPES_STACKS_H

#ifndef EFAULT
#define EFAULT 14
#endif

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

#endif /* __RECIPES_STACKS_H */
