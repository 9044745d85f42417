/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what stackcount's kernel side counts. */
#ifndef __STACKCOUNT_H
#define __STACKCOUNT_H

#define STACKCOUNT_MAX_DEPTH 127 /* the kernel's default perf_event_max_stack */
#define STACKCOUNT_COUNTS_MIN 16384 /* entries of `counts`: this, or --stack-storage-size when larger */
/* stack ids of a key besides those of `stacks` */
#define STACKCOUNT_NO_STACK (-1)     /* not asked for, or no such stack (a kernel thread's user stack) */
#define STACKCOUNT_MISSED_STACK (-2) /* could not be stored: counted in `missed` */

/* one distinct (process, kernel stack, user stack) */
struct stack_key {
	__u32 pid;      /* tgid, as the tool's PID namespace numbers it */
	__s32 kstack;   /* id in `stacks`, or STACKCOUNT_NO_STACK, STACKCOUNT_MISSED_STACK */
	__s32 ustack;
	__u32 pad;
};

struct stack_val {
	__u64 count;
	char comm[16];
};

/* indexes of the per-CPU `missed` counters */
enum stackcount_missed {
	MISSED_KERNEL = 0, /* bpf_get_stackid failed for the kernel stack (-EEXIST collision, -ENOMEM) */
	MISSED_USER = 1,   /* ... for the user stack */
	MISSED_COUNTS = 2, /* the counts map was full: the event was not counted */
	MISSED_NR = 3,
};

#endif /* __STACKCOUNT_H */
