/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what gethostlatency's kernel side reports. */
#ifndef __GETHOSTLATENCY_H
#define __GETHOSTLATENCY_H

#define GHL_HOST_LEN 256
#define GHL_MAX_ADDRS 4
#define GHL_HIST_SLOTS 32

enum ghl_func {
	GHL_GETADDRINFO = 0,
	GHL_GETHOSTBYNAME = 1,
	GHL_GETHOSTBYNAME2 = 2,
	GHL_GETHOSTBYNAME_R = 3,
	GHL_GETHOSTBYNAME2_R = 4,
	GHL_GETHOSTBYADDR = 5,
	GHL_GETHOSTBYADDR_R = 6,
};

#define GHL_NFUNCS (GHL_GETHOSTBYADDR_R + 1)

/* --metrics / the exporter: per-CPU totals of one function's lookups, counted in the kernel */
struct ghl_metric {
	__u64 count;
	__u64 lat_ns;                   /* the exact sum of the latencies */
	__u64 slots[GHL_HIST_SLOTS];    /* log2 µs of latency, the last one the overflow */
};

struct ghl_addr {
	__u16 family;  /* AF_INET 2, AF_INET6 10 */
	__u8 pad[2];
	__u8 addr[16];
};

struct event {
	__u64 ts_ns;
	__u64 lat_ns;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 func;     /* enum ghl_func */
	__s32 ret;      /* getaddrinfo: 0 or EAI_*; *_r: 0 or errno; others: 0 found, -1 NULL */
	__s32 herrno;   /* on failure, h_errno (HOST_NOT_FOUND 1, TRY_AGAIN 2, NO_RECOVERY 3, NO_DATA 4): *h_errnop
	                 * of an _r call, or of the _r call nested in gethostbyname/gethostbyname2/gethostbyaddr */
	__u32 naddrs;   /* resolved addresses in addrs (at most GHL_MAX_ADDRS) */
	__u32 qfamily;  /* gethostbyaddr(_r): the family of the address asked about */
	char comm[16];
	struct ghl_addr addrs[GHL_MAX_ADDRS];
	char host[GHL_HOST_LEN]; /* the name asked for (gethostbyaddr(_r): the address, as bytes) */
};

#endif
