/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what sslsnoop's kernel side reports. */
#ifndef __SSLSNOOP_H
#define __SSLSNOOP_H

#define SSLSNOOP_MAX_DATA 16384

enum ssl_func {
	F_SSL_READ = 0,
	F_SSL_WRITE = 1,
	F_SSL_READ_EX = 2,
	F_SSL_WRITE_EX = 3,
	F_GNUTLS_RECV = 4,
	F_GNUTLS_SEND = 5,
	F_PR_READ = 6,
	F_PR_WRITE = 7,
	F_PR_RECV = 8,
	F_PR_SEND = 9,
	F_SSL_DO_HANDSHAKE = 10,
};

struct event {
	__u64 ts_ns;
	__u64 lat_ns;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 func;     /* enum ssl_func */
	__s64 ret;      /* the function's return value */
	__u32 len;      /* plaintext bytes moved by the call */
	__u32 copied;   /* bytes of it in data (at most --max-buffer-size) */
	char comm[16];
	/* then `copied` bytes of data: a record is the header and its data, nothing more */
};

/* the per-CPU buffer a record is built in */
struct event_buf {
	struct event e;
	__u8 data[SSLSNOOP_MAX_DATA];
};

#endif
