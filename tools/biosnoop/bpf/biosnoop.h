/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what biosnoop's kernel side reports. */
#ifndef __BIOSNOOP_H
#define __BIOSNOOP_H

#define BIOSNOOP_HIST_SLOTS 32

/* our own flag bits (the kernel's move between versions; CO-RE finds theirs) */
#define BIO_F_SYNC     (1 << 0)
#define BIO_F_META     (1 << 1)
#define BIO_F_FUA      (1 << 2)
#define BIO_F_PREFLUSH (1 << 3)
#define BIO_F_RAHEAD   (1 << 4)

struct event {
	__u64 ts_ns;       /* completion */
	__u64 start_ns;    /* accounting start (block_io_start) or insert, 0 if unknown */
	__u64 insert_ns;   /* inserted into the I/O scheduler, 0 if it went straight to the driver */
	__u64 issue_ns;    /* handed to the driver */
	__u64 sector;
	__u32 len;         /* bytes */
	__u32 dev;         /* the disk's dev_t (kernel encoding: major << 20 | minor) */
	__u32 pid;         /* the submitter */
	__u32 op;          /* REQ_OP_*: 0 read, 1 write, 2 flush, 3 discard, ... */
	__u32 flags;       /* BIO_F_* */
	__s32 error;       /* blk_status_t of the completion */
	__u32 pattern;     /* -P: BIO_PAT_* against the disk's previous completion */
	char comm[16];
};

/* -P, as bcc's biosnoop: does a request start where the disk's previous completed one ended? */
#define BIO_PAT_UNKNOWN    0
#define BIO_PAT_SEQUENTIAL 1
#define BIO_PAT_RANDOM     2

struct hist_key {
	__u32 dev;
	__u32 slot;
};

/* --metrics / the exporter: per-CPU totals by the series' labels (disk, op), counted in the kernel */
struct io_metric_key {
	__u32 dev;
	__u32 op;   /* REQ_OP_* */
};

struct io_metric {
	__u64 count;
	__u64 bytes;
	__u64 lat_ns;                          /* the exact sum of device latencies */
	__u64 slots[BIOSNOOP_HIST_SLOTS];      /* log2 µs of device latency, the last one the overflow */
};

#endif
