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

_Static_assert(PROFILE_NO_STACK == RECIPES_NO_STACK && PROFILE_MISSED_STACK == RECIPES_MISSED_STACK,
	       "the stack ids of recipes_stacks.h");

const volatile bool cfg_kernel = true; /* capture kernel stacks */
const volatile bool cfg_user = true;   /* capture user stacks */
const volatile bool cfg_idle = false;  /* count samples of the idle task (pid 0) */
const volatile __u32 cfg_by = PROFILE_BY_STACK; /* enum profile_by */

RECIPES_STACK_MAP(stacks, PROFILE_MAX_DEPTH);
RECIPES_MAP(counts, HASH, PROFILE_COUNTS_MIN, struct sample_key, struct sample_val);
/* --by comm|pid (user space sizes the map that is not used to 1) */
RECIPES_MAP(totals, HASH, PROFILE_COUNTS_MIN, struct total_key, struct sample_val);

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
	recipes_key_stacks(ctx, &stacks, cfg_kernel, cfg_user, &key.kstack, &key.ustack, &missed, PROFILE_MISSED_KERNEL,
			   PROFILE_MISSED_USER);
	if (!recipes_count_stack(&counts, &key))
		recipes_count_missed(PROFILE_MISSED_COUNTS);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
