/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what udplife's kernel side reports: one record per UDP socket, at its end. */
#ifndef __UDPLIFE_H
#define __UDPLIFE_H

#define UDPLIFE_MAX_PEERS 8

struct event {
	__u64 ts_ns;       /* release */
	__u64 start_ns;    /* creation */
	__u64 tx_bytes;
	__u64 rx_bytes;
	__u64 tx_packets;
	__u64 rx_packets;
	__u32 pid;         /* creator */
	__u32 uid;
	__u16 family;      /* AF_INET 2, AF_INET6 10 */
	__u16 lport;
	__u16 rport;       /* the connected peer, else the last one sent to / received from */
	__u16 connected;
	__u32 peers;       /* distinct peers seen; UDPLIFE_MAX_PEERS + 1: more than UDPLIFE_MAX_PEERS */
	__u8 laddr[16];
	__u8 raddr[16];
	char comm[16];
};

/* --metrics / the exporter: per-CPU totals of released sockets by family (0 IPv4, 1 IPv6), counted in the kernel */
#define UDPLIFE_HIST_SLOTS 32

struct sock_metric {
	__u64 count;                        /* sockets released */
	__u64 lifetime_ns;                  /* the exact sum of their lifetimes */
	__u64 tx_bytes;                     /* payload bytes they sent and received */
	__u64 rx_bytes;
	__u64 slots[UDPLIFE_HIST_SLOTS];    /* log2 µs of lifetime, the last one the overflow */
};

#endif
