/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what syscount's kernel side aggregates. */
#ifndef __SYSCOUNT_H
#define __SYSCOUNT_H

#define SYSCOUNT_MAX_NR 1024
#define SYSCOUNT_HIST_SLOTS 40

/* per syscall number, per CPU */
struct sc_stat {
	__u64 count;
	__u64 errors;
	__u64 total_ns;
};

/* per process, per CPU */
struct proc_stat {
	__u64 count;
	__u64 errors;
	__u64 total_ns;
	__u64 comm_ns; /* when comm was read: a process's slots on several CPUs keep the newest name */
	char comm[16];
};

/* per CPU: the process that made the last syscall there, counted here until another one does */
struct proc_cache {
	__u32 pid;
	__u32 pad;
	struct proc_stat stat;
};

/* --metrics-by: one syscall of one comm or cgroup (recipes_metrics_by.h) */
struct sc_by_key {
	__u32 nr;
	__u32 pad;
	char by[16];
};

/* --hist: one log2 latency slot of one syscall */
struct hist_key {
	__u32 nr;
	__u32 slot;
};

#endif /* __SYSCOUNT_H */
