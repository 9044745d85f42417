// SPDX-License-Identifier: GPL-2.0
/*
 * stackcount: how often each distinct stack reaches a tracepoint chosen at run time.
 *
 * One classic tracepoint program without a fixed target (SEC("tracepoint")): user space attaches
 * it to CATEGORY:EVENT with bpf_program__attach_tracepoint(). Each hit stores the kernel and/or
 * user stack in a stack-trace map (ids) and counts (tgid, kernel id, user id) in a hash; user
 * space reads and names them at each print. Stacks that could not be stored are counted.
 */
#include "vmlinux.h"
#include "recipes.h"
#include "stackcount.h"
#include "recipes_stacks.h"

_Static_assert(STACKCOUNT_NO_STACK == RECIPES_NO_STACK && STACKCOUNT_MISSED_STACK == RECIPES_MISSED_STACK,
	       "the stack ids of recipes_stacks.h");

const volatile bool cfg_kernel = true; /* capture kernel stacks */
const volatile bool cfg_user = true;   /* capture user stacks */

RECIPES_STACK_MAP(stacks, STACKCOUNT_MAX_DEPTH);
RECIPES_MAP(counts, HASH, STACKCOUNT_COUNTS_MIN, struct stack_key, struct stack_val);

RECIPES_MISSED(MISSED_NR); /* indexed by enum stackcount_missed */

RECIPES_EXPORT(stack_key);
RECIPES_EXPORT(stack_val);
RECIPES_EXPORT_ENUM(stackcount_missed);

SEC("tracepoint")
int stackcount_tp(void *ctx)
{
	__u64 id = recipes_current_ids();
	struct stack_key key = { .pid = id >> 32, .kstack = STACKCOUNT_NO_STACK, .ustack = STACKCOUNT_NO_STACK };

	if (!recipes_ids_allowed(id))
		return 0;
	recipes_key_stacks(ctx, &stacks, cfg_kernel, cfg_user, &key.kstack, &key.ustack, &missed, MISSED_KERNEL, MISSED_USER);
	if (!recipes_count_stack(&counts, &key))
		recipes_count_missed(MISSED_COUNTS);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
