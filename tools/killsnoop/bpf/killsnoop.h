/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what killsnoop's kernel side reports. */
#ifndef __KILLSNOOP_H
#define __KILLSNOOP_H

enum ks_source {
	KS_KILL = 0,
	KS_TKILL = 1,
	KS_TGKILL = 2,
	KS_RT_SIGQUEUEINFO = 3,
	KS_RT_TGSIGQUEUEINFO = 4,
	KS_PIDFD_SEND_SIGNAL = 5,
	KS_GENERATE = 6, /* -a: signal:signal_generate (any sender, the kernel included) */
};

struct event {
	__u64 ts_ns;
	__u32 pid;      /* sender (for KS_GENERATE: the task running when the signal was generated) */
	__u32 tid;
	__u32 uid;
	__s32 tpid;     /* target as given: a pid, a tgid, or <= 0 for process groups */
	__s32 ttid;     /* tkill/tgkill/rt_tgsigqueueinfo: the thread; KS_GENERATE: the target task */
	__s32 sig;
	__s32 ret;      /* syscall result (0 or -errno); KS_GENERATE: the kernel's result (0 delivered ...) */
	__s32 code;     /* si_code (KS_GENERATE) */
	__s32 source;   /* enum ks_source */
	__s32 pidfd;    /* pidfd_send_signal: the fd */
	char comm[16];  /* sender */
	char tcomm[16]; /* target, from signal_generate; empty when no signal was generated */
};

/* --metrics / the exporter: per-CPU counts by the series' labels, counted in the kernel */
struct sig_metric_key {
	__s32 sig;
	__s32 ret;        /* the syscall's result (0 or -errno); KS_GENERATE: the delivery result */
	__u32 generated;  /* 1: from signal:signal_generate (-a) */
	__u32 pad;
	char by[16];      /* --metrics-by: the sender's comm or cgroup id (recipes_metrics_by.h), else zeros */
};

#endif
