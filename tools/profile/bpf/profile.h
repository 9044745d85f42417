/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what profile's kernel side counts. */
#ifndef __PROFILE_H
#define __PROFILE_H

#define PROFILE_MAX_DEPTH 127 /* the kernel's default perf_event_max_stack */

/* one distinct (process, kernel stack, user stack) that was on a CPU when it was sampled */
struct sample_key {
	__u32 pid;      /* tgid, as the tool's PID namespace numbers it; 0: the idle task */
	__s32 kstack;   /* id in `stacks`; -1: none (not asked, or the sample was in user mode); -2: missed */
	__s32 ustack;   /* -1: none (not asked, or a kernel thread); -2: missed */
	__u32 pad;
};

struct sample_val {
	__u64 count;
	char comm[16];
};

/* indexes of the per-CPU `missed` counters */
enum profile_missed {
	PROFILE_MISSED_KERNEL = 0, /* bpf_get_stackid failed for the kernel stack (-EEXIST collision, -ENOMEM) */
	PROFILE_MISSED_USER = 1,   /* ... for the user stack */
	PROFILE_MISSED_COUNTS = 2, /* the counts map was full: the sample was not counted */
	PROFILE_MISSED_NR = 3,
};

#endif /* __PROFILE_H */
