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
#include "recipes_unwind.h"

const volatile bool cfg_kernel = true; /* capture kernel stacks */
const volatile bool cfg_user = true;   /* capture user stacks */

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, STACKCOUNT_MAX_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STACKCOUNT_COUNTS_MIN);
	__type(key, struct stack_key);
	__type(value, struct stack_val);
} counts SEC(".maps");

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
	if (cfg_kernel) {
		key.kstack = recipes_stack_id(ctx, &stacks, 0, STACKCOUNT_NO_STACK, STACKCOUNT_MISSED_STACK);
		if (key.kstack == STACKCOUNT_MISSED_STACK)
			recipes_count_missed(MISSED_KERNEL);
	}
	if (cfg_user) {
		key.ustack = recipes_user_stack_id(ctx, &stacks, STACKCOUNT_NO_STACK, STACKCOUNT_MISSED_STACK);
		if (key.ustack == STACKCOUNT_MISSED_STACK)
			recipes_count_missed(MISSED_USER);
	}
	if (!recipes_count_stack(&counts, &key))
		recipes_count_missed(MISSED_COUNTS);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
