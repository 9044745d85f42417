/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what sslsnoop's kernel side reports. */
#ifndef __SSLSNOOP_H
#define __SSLSNOOP_H

#define SSLSNOOP_MAX_DATA 16384

/* the functions probed, by the symbol's own name (user space takes the name from the enumerator:
 * F_SSL_read probes SSL_read); the attach cookie of each probe */
enum ssl_func {
	F_SSL_read = 0,
	F_SSL_write = 1,
	F_SSL_read_ex = 2,
	F_SSL_write_ex = 3,
	F_gnutls_record_recv = 4,
	F_gnutls_record_send = 5,
	F_PR_Read = 6,
	F_PR_Write = 7,
	F_PR_Recv = 8,
	F_PR_Send = 9,
	F_SSL_do_handshake = 10,
};

/* the functions that write (send) data; the others read it, but the handshake moves none */
#define SSLSNOOP_WRITES ((1 << F_SSL_write) | (1 << F_SSL_write_ex) | (1 << F_gnutls_record_send) | \
			 (1 << F_PR_Write) | (1 << F_PR_Send))
#define SSLSNOOP_NFUNCS (F_SSL_do_handshake + 1)

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
