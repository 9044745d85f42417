/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what profile's kernel side counts. */
#ifndef __PROFILE_H
#define __PROFILE_H

#define PROFILE_MAX_DEPTH 127 /* the kernel's default perf_event_max_stack */
#define PROFILE_COUNTS_MIN 16384 /* entries of `counts`: this, or --stack-storage-size when larger */
/* stack ids of a key besides those of `stacks` */
#define PROFILE_NO_STACK (-1)     /* not asked for, or no such stack (user mode: no kernel stack; a kernel thread: no user stack) */
#define PROFILE_MISSED_STACK (-2) /* could not be stored: counted in `missed` */

/* one distinct (process, kernel stack, user stack) that was on a CPU when it was sampled */
struct sample_key {
	__u32 pid;      /* tgid, as the tool's PID namespace numbers it; 0: the idle task */
	__s32 kstack;   /* id in `stacks`, or PROFILE_NO_STACK, PROFILE_MISSED_STACK */
	__s32 ustack;
	__u32 pad;
};

struct sample_val {
	__u64 count;
	char comm[16];
};

/* what a sample is counted under */
enum profile_by {
	PROFILE_BY_STACK = 0, /* (process, kernel stack, user stack) in `counts` */
	PROFILE_BY_COMM = 1,  /* --by comm: the comm at the sample, in `totals` (no stack walked) */
	PROFILE_BY_PID = 2,   /* --by pid: the process, in `totals` (its comm the first seen) */
};

/* --by comm: pid 0 and the comm; --by pid: the pid (comm zeros) */
struct total_key {
	__u32 pid;
	char comm[16];
};

/* indexes of the per-CPU `missed` counters */
enum profile_missed {
	PROFILE_MISSED_KERNEL = 0, /* bpf_get_stackid failed for the kernel stack (-EEXIST collision, -ENOMEM) */
	PROFILE_MISSED_USER = 1,   /* ... for the user stack */
	PROFILE_MISSED_COUNTS = 2, /* the counts (or totals) map was full: the sample was not counted */
	PROFILE_MISSED_NR = 3,
};

#endif /* __PROFILE_H */
