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

#define EFAULT 14
#define EEXIST 17

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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MISSED_NR);
	__type(key, __u32);
	__type(value, __u64);
} missed SEC(".maps");

RECIPES_EXPORT(stack_key);
RECIPES_EXPORT(stack_val);
RECIPES_EXPORT_ENUM(stackcount_missed);

static __always_inline void count_missed(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&missed, &which);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("tracepoint")
int stackcount_tp(void *ctx)
{
	__u64 id = recipes_current_ids();
	struct stack_key key = { .pid = id >> 32, .kstack = STACKCOUNT_NO_STACK, .ustack = STACKCOUNT_NO_STACK };
	struct stack_val *v, init = { .count = 1 };
	long r;

	if (!recipes_ids_allowed(id))
		return 0;
	if (cfg_kernel) {
		r = bpf_get_stackid(ctx, &stacks, 0);
		if (r >= 0) {
			key.kstack = r;
		} else if (r != -EFAULT) {
			key.kstack = STACKCOUNT_MISSED_STACK; /* shown as a missed stack, never dropped */
			count_missed(MISSED_KERNEL);
		}
	}
	if (cfg_user) {
		r = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
		if (r >= 0) {
			key.ustack = r;
		} else if (r != -EFAULT) { /* -EFAULT: no user stack (a kernel thread) */
			key.ustack = STACKCOUNT_MISSED_STACK;
			count_missed(MISSED_USER);
		}
	}
	v = bpf_map_lookup_elem(&counts, &key);
	if (v) {
		__sync_fetch_and_add(&v->count, 1);
		return 0;
	}
	bpf_get_current_comm(init.comm, sizeof(init.comm));
	r = bpf_map_update_elem(&counts, &key, &init, BPF_NOEXIST);
	if (r == -EEXIST) {
		/* another CPU inserted it meanwhile */
		v = bpf_map_lookup_elem(&counts, &key);
		if (v)
			__sync_fetch_and_add(&v->count, 1);
	} else if (r) {
		count_missed(MISSED_COUNTS);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
