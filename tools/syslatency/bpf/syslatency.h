/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what syslatency's kernel side aggregates. */
#ifndef __SYSLATENCY_H
#define __SYSLATENCY_H

#define SYSLATENCY_MAX_NR 1024     /* syscall numbers below this are traced */
#define SYSLATENCY_HIST_SLOTS 32   /* log2 slots; the last one holds everything above */
#define SYSLATENCY_MAX_KEYS 10240  /* histograms (comms, processes, threads or syscalls) */

/* what a histogram is kept per (--by) */
enum syslatency_by {
	SYSLATENCY_BY_COMM = 0,
	SYSLATENCY_BY_PID = 1,
	SYSLATENCY_BY_TID = 2,
	SYSLATENCY_BY_SYSCALL = 3,
};

/* --by comm: id 0 and the comm; --by pid/tid: the id (comm 0); --by syscall: the number */
struct hist_key {
	__u32 id;
	char comm[16];
};

/* per key, per CPU */
struct hist {
	__u64 slots[SYSLATENCY_HIST_SLOTS]; /* log2 of the latency in the unit (cfg_unit_ns) */
	__u64 total_ns;
	char comm[16];                      /* --by pid/tid: the name at the last call here */
};

#endif /* __SYSLATENCY_H */
