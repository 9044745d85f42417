/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what offcputime's kernel side measures. */
#ifndef __OFFCPUTIME_H
#define __OFFCPUTIME_H

#define OFFCPU_MAX_DEPTH 127     /* the kernel's default perf_event_max_stack */
#define OFFCPU_COUNTS_MIN 16384  /* entries of `counts`: this, or --stack-storage-size when larger */
#define OFFCPU_STARTS 65536      /* threads off CPU at once that can be timed */
/* stack ids of a key besides those of `stacks` */
#define OFFCPU_NO_STACK (-1)     /* not asked for, or no such stack (a kernel thread's user stack) */
#define OFFCPU_MISSED_STACK (-2) /* could not be stored: counted in `missed` */

/* task states a block can start in, for --state (bits of cfg_state_mask) */
#define OFFCPU_STATE_RUNNING (1 << 0)  /* R: preempted while runnable */
#define OFFCPU_STATE_SLEEPING (1 << 1) /* S: interruptible sleep */
#define OFFCPU_STATE_DISK (1 << 2)     /* D: uninterruptible sleep (killable too) */
#define OFFCPU_STATE_IDLE (1 << 3)     /* I: uninterruptible without load (TASK_IDLE) */
#define OFFCPU_STATE_STOPPED (1 << 4)  /* T: stopped or traced */
#define OFFCPU_STATE_OTHER (1 << 5)    /* parked, or any other state */
#define OFFCPU_STATE_ALL ((1 << 6) - 1)

/* one distinct (process, kernel stack, user stack) that went off CPU */
struct offcpu_key {
	__u32 pid;    /* tgid, as the tool's PID namespace numbers it */
	__s32 kstack; /* id in `stacks`, or OFFCPU_NO_STACK, OFFCPU_MISSED_STACK */
	__s32 ustack;
	__u32 pad;
};

struct offcpu_val {
	__u64 total_ns; /* time off CPU, summed over its blocks */
	__u64 blocks;   /* how many times it went off CPU (within -m/-M) */
	char comm[16];
};

/* a thread off CPU now: when it left and with which stacks */
struct offcpu_start {
	__u64 ts_ns;
	struct offcpu_key key;
	char comm[16];
};

/* indexes of the per-CPU `missed` counters */
enum offcputime_missed {
	OFFCPU_MISSED_KERNEL = 0, /* bpf_get_stackid failed for the kernel stack (-EEXIST collision, -ENOMEM) */
	OFFCPU_MISSED_USER = 1,   /* ... for the user stack */
	OFFCPU_MISSED_COUNTS = 2, /* the counts map was full: a block was not added */
	OFFCPU_MISSED_STARTS = 3, /* the starts map was full: a block was not timed */
	OFFCPU_MISSED_ENDS = 4,   /* a thread left the CPU again with no switch back in seen since it
				   * last left: that block was lost (rare; libbpf-tools loses them too) */
	OFFCPU_MISSED_NR = 5,
};

#endif /* __OFFCPUTIME_H */
