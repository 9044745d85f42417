// SPDX-License-Identifier: GPL-2.0
/*
 * profile: which stacks are on the CPUs, sampled at a fixed frequency, or which stacks make an event
 * (page faults, context switches, cache misses...), sampled every N of them.
 *
 * One perf_event program; user space opens one perf event per online CPU (cpu-clock at -F HZ by
 * default, frequency mode; another software or hardware event of -e, every -c N) and attaches it
 * to each. With --by comm|pid no stack is walked: the sample is counted under its comm or process. Each sample stores the kernel and/or
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
const volatile __u32 cfg_by = PROFILE_BY_STACK; /* enum profile_by */

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

/* --by comm|pid (user space sizes the map that is not used to 1) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROFILE_COUNTS_MIN);
	__type(key, struct total_key);
	__type(value, struct sample_val);
} totals SEC(".maps");

RECIPES_MISSED(PROFILE_MISSED_NR); /* indexed by enum profile_missed */

RECIPES_EXPORT(sample_key);
RECIPES_EXPORT(sample_val);
RECIPES_EXPORT(total_key);
RECIPES_EXPORT_ENUM(profile_missed);
RECIPES_EXPORT_ENUM(profile_by);

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
	if (cfg_by != PROFILE_BY_STACK) {
		struct total_key t = {};

		if (cfg_by == PROFILE_BY_COMM)
			bpf_get_current_comm(t.comm, sizeof(t.comm));
		else
			t.pid = key.pid;
		if (!recipes_count_stack(&totals, &t))
			recipes_count_missed(PROFILE_MISSED_COUNTS);
		return 0;
	}
	if (cfg_kernel) {
		key.kstack = recipes_stack_id(ctx, &stacks, 0, PROFILE_NO_STACK, PROFILE_MISSED_STACK);
		if (key.kstack == PROFILE_MISSED_STACK)
			recipes_count_missed(PROFILE_MISSED_KERNEL);
	}
	if (cfg_user) {
		key.ustack = recipes_user_stack_id(ctx, &stacks, PROFILE_NO_STACK, PROFILE_MISSED_STACK);
		if (key.ustack == PROFILE_MISSED_STACK)
			recipes_count_missed(PROFILE_MISSED_USER);
	}
	if (!recipes_count_stack(&counts, &key))
		recipes_count_missed(PROFILE_MISSED_COUNTS);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
