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

#endif
