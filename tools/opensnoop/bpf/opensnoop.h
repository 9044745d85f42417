/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what opensnoop's kernel side sends to user space. */
#ifndef __OPENSNOOP_H
#define __OPENSNOOP_H

#define OPENSNOOP_PATH_MAX 4096

enum open_call {
	CALL_OPEN = 0,
	CALL_OPENAT = 1,
	CALL_OPENAT2 = 2,
};

/* --metrics: opens by result (0: success, else the errno) and, with --metrics-by, comm or cgroup */
struct open_result_key {
	__u32 err;
	__u32 pad;
	char by[16];
};

struct event {
	__u64 ts_ns;     /* CLOCK_MONOTONIC at exit */
	__u64 lat_ns;    /* time spent in the call */
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 ret;       /* fd, or -errno */
	__s32 dirfd;     /* AT_FDCWD (-100) for open(2) */
	__u32 flags;
	__u32 mode;
	__u32 call;      /* enum open_call */
	char comm[16];
	char path[OPENSNOOP_PATH_MAX]; /* NUL-terminated; the record ends after the NUL */
};

#endif /* __OPENSNOOP_H */
