/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what syslatency's kernel side aggregates. */
#ifndef __SYSLATENCY_H
#define __SYSLATENCY_H

#define SYSLATENCY_MAX_NR 1024     /* syscall numbers below this are traced */
#define SYSLATENCY_HIST_SLOTS 32   /* log2 slots; the last one holds everything above */
#define SYSLATENCY_MAX_KEYS 10240  /* histograms (comms, processes, threads or syscalls) */
#define SYSLATENCY_MAX_DEPTH 127   /* frames of a stack (the kernel's default perf_event_max_stack) */
#define SYSLATENCY_STACK_KEYS_MIN 16384 /* entries of stack_hists: this, or --stack-storage-size when larger */
/* stack ids of a stack_key besides those of `stacks` */
#define SYSLATENCY_NO_STACK (-1)     /* not asked for (--by), or no such stack */
#define SYSLATENCY_MISSED_STACK (-2) /* could not be stored: counted in `missed` */

/* what a histogram is kept per (--by) */
enum syslatency_by {
	SYSLATENCY_BY_COMM = 0,
	SYSLATENCY_BY_PID = 1,
	SYSLATENCY_BY_TID = 2,
	SYSLATENCY_BY_SYSCALL = 3,
	SYSLATENCY_BY_USTACK = 4, /* the user stack of the call (walked at its return) */
	SYSLATENCY_BY_KSTACK = 5, /* the kernel stack at its return */
	SYSLATENCY_BY_STACK = 6,  /* both */
};

/* indexes of the per-CPU `missed` counters */
enum syslatency_missed {
	SYSLATENCY_MISSED_COUNTS = 0, /* the map of histograms was full: the call was not counted */
	SYSLATENCY_MISSED_KERNEL = 1, /* bpf_get_stackid failed for the kernel stack (collision, full) */
	SYSLATENCY_MISSED_USER = 2,   /* ... for the user stack */
	SYSLATENCY_MISSED_NR = 3,
};

/* --by comm: id 0 and the comm; --by pid/tid: the id (comm 0); --by syscall: the number */
struct hist_key {
	__u32 id;
	char comm[16];
};

/* --by ustack/kstack/stack: one histogram per (process, syscall, kernel stack, user stack) */
struct stack_key {
	__u32 pid;    /* tgid, as the tool's PID namespace numbers it */
	__u32 nr;     /* the syscall */
	__s32 kstack; /* id in `stacks`, or SYSLATENCY_NO_STACK, SYSLATENCY_MISSED_STACK */
	__s32 ustack;
};

/* per key, per CPU */
struct hist {
	__u64 slots[SYSLATENCY_HIST_SLOTS]; /* log2 of the latency in the unit (cfg_unit_ns) */
	__u64 total_ns;
	char comm[16];                      /* --by pid/tid and the stacks: the name at the last call here */
};

#endif /* __SYSLATENCY_H */
