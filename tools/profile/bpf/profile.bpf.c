// SPDX-License-Identifier: GPL-2.0
/*
 * profile: which stacks are on the CPUs, sampled at a fixed frequency.
 *
 * One perf_event program; user space opens a software cpu-clock event per online CPU at -F HZ
 * (perf_event_open, frequency mode) and attaches it to each. Each sample stores the kernel and/or
 * user stack of the interrupted task in a stack-trace map (ids) and counts (tgid, kernel id, user
 * id) in a hash: nothing crosses into user space until it reads the maps. The idle task (pid 0) is
 * left out unless cfg_idle. Stacks that could not be stored are counted.
 */
#include "vmlinux.h"
#include "recipes.h"
#include "profile.h"
#include "recipes_stacks.h"
#include "recipes_unwind.h"

const volatile bool cfg_kernel = true; /* capture kernel stacks */
const volatile bool cfg_user = true;   /* capture user stacks */
const volatile bool cfg_idle = false;  /* count samples of the idle task (pid 0) */

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, PROFILE_MAX_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROFILE_COUNTS_MIN);
	__type(key, struct sample_key);
	__type(value, struct sample_val);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROFILE_MISSED_NR);
	__type(key, __u32);
	__type(value, __u64);
} missed SEC(".maps");

RECIPES_EXPORT(sample_key);
RECIPES_EXPORT(sample_val);
RECIPES_EXPORT_ENUM(profile_missed);

static __always_inline void count_missed(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&missed, &which);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("perf_event")
int profile_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id;
	struct sample_key key = { .kstack = PROFILE_NO_STACK, .ustack = PROFILE_NO_STACK };

	/* the idle task: pid 0 in every namespace (its ids are not visible from inside one) */
	if ((__u32)bpf_get_current_pid_tgid() == 0) {
		if (!cfg_idle || cfg_pidns_ino || cfg_npids || cfg_tid || cfg_filter_uid || cfg_comm_len || cfg_cgroup_id)
			return 0;
		id = 0;
	} else {
		id = recipes_current_ids();
		if (!recipes_ids_allowed(id))
			return 0;
	}
	key.pid = id >> 32;
	if (cfg_kernel) {
		key.kstack = recipes_stack_id(ctx, &stacks, 0, PROFILE_NO_STACK, PROFILE_MISSED_STACK);
		if (key.kstack == PROFILE_MISSED_STACK)
			count_missed(PROFILE_MISSED_KERNEL);
	}
	if (cfg_user) {
		key.ustack = recipes_user_stack_id(ctx, &stacks, PROFILE_NO_STACK, PROFILE_MISSED_STACK);
		if (key.ustack == PROFILE_MISSED_STACK)
			count_missed(PROFILE_MISSED_USER);
	}
	if (!recipes_count_stack(&counts, &key))
		count_missed(PROFILE_MISSED_COUNTS);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
