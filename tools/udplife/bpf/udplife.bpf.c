// SPDX-License-Identifier: GPL-2.0
/*
 * udplife: the life of every UDP socket — without kprobes.
 *   cgroup/sock_create  (root cgroup v2): birth, in the creating process: pid, comm, time
 *   sock:sock_send_length / sock_recv_length (BTF): bytes and datagrams, per socket
 *   syscalls sendto/sendmsg/recvfrom/recvmsg: the peer of each datagram (unconnected sockets);
 *                       a receive's peer is read at the syscall's exit: the kernel copies the
 *                       sender's address to user memory only after sock_recv_length
 *   cgroup/sock_release: death — close, or the exit of the last process holding it — and the record
 * Kernels before 6.3 have no sock_send_length/sock_recv_length: there user space loads, instead of
 * those and the syscall tracepoints, cgroup_skb/egress and cgroup_skb/ingress (root cgroup v2):
 * bytes and datagrams from each packet's length, peers from its IP and UDP headers.
 * Sockets are keyed by their struct sock address (the context of the cgroup programs is that sock).
 */
#include "vmlinux.h"
#include "recipes.h"

RECIPES_EVENTS(1 << 22); /* the event stream: ring buffer and lost counter (resized by --buffer-size) */
#include "udplife.h"
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_UDP 17
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

const volatile __u16 cfg_family = 0;          /* -4 / -6 */
const volatile __u16 cfg_lports[8] = {};      /* -L */
const volatile __u32 cfg_nlports = 0;
const volatile __u16 cfg_rports[8] = {};      /* -D */
const volatile __u32 cfg_nrports = 0;
RECIPES_METRICS_CONFIG(); /* --metrics: count in sock_metrics */

struct peer {
	__u16 family;
	__u16 port;        /* network order */
	__u8 addr[16];
};

struct life {
	__u64 start_ns;
	__u64 tx_bytes, rx_bytes, tx_packets, rx_packets;
	__u32 pid, uid;
	__u16 family;
	__u16 npeers;
	struct peer last;
	__u32 peer_hash[UDPLIFE_MAX_PEERS];
	char comm[16];
};

RECIPES_MAP(socks, HASH, 65536, __u64, struct life); /* by the struct sock's address */

/* a send/recv syscall in progress on this thread: where its peer address is */
struct pending {
	void *addr;        /* struct sockaddr * in user memory */
	__u64 sk;          /* recv: the tracked socket that received, its peer read at syscall exit */
	void *msg;         /* sendmsg/recvmsg: struct user_msghdr * */
	__u32 recv;
};

/* LRU: a thread that dies inside a syscall, or one whose send went to no tracked socket, leaves an entry */
RECIPES_MAP(pending, LRU_HASH, 10240, __u32, struct pending); /* by the kernel's TID */
/* --metrics: what a scrape reads (released sockets by family), next to the ring buffer's events */
RECIPES_MAP(sock_metrics, PERCPU_ARRAY, 2, __u32, struct sock_metric);

RECIPES_EXPORT(event);
RECIPES_EXPORT(sock_metric);

SEC("cgroup/sock_create")
int udplife_create(struct bpf_sock *ctx)
{
	struct life l = {};
	__u64 key = (__u64)ctx;

	if (ctx->protocol != IPPROTO_UDP || (ctx->family != AF_INET && ctx->family != AF_INET6))
		return 1;
	if (cfg_family && ctx->family != cfg_family)
		return 1;
	if (!recipes_task_allowed())
		return 1;
	l.start_ns = bpf_ktime_get_ns();
	l.pid = recipes_current_ids() >> 32; /* as the tool's PID namespace sees it */
	l.uid = (__u32)bpf_get_current_uid_gid();
	l.family = ctx->family;
	bpf_get_current_comm(l.comm, sizeof(l.comm));
	bpf_map_update_elem(&socks, &key, &l, BPF_ANY);
	return 1; /* allow */
}

static __always_inline __u32 hash_peer(struct peer *p)
{
	__u32 h = p->port * 2654435761u;

	for (int i = 0; i < 16; i += 4)
		h = (h ^ *(__u32 *)&p->addr[i]) * 16777619u;
	return h | 1;
}

/* one more peer; past UDPLIFE_MAX_PEERS distinct ones npeers says UDPLIFE_MAX_PEERS + 1 ("more") */
static __always_inline void add_peer(struct life *l, struct peer *p)
{
	__u32 h;

	l->last = *p;
	h = hash_peer(p);
	for (int i = 0; i < UDPLIFE_MAX_PEERS; i++) {
		if (l->peer_hash[i] == h)
			return;
		if (l->peer_hash[i] == 0) {
			l->peer_hash[i] = h;
			l->npeers = i + 1;
			return;
		}
	}
	l->npeers = UDPLIFE_MAX_PEERS + 1;
}

static __always_inline void note_peer(struct life *l, void *uaddr)
{
	struct peer p = {};

	if (!uaddr)
		return;
	bpf_probe_read_user(&p.family, sizeof(p.family), uaddr);
	if (p.family == AF_INET) {
		bpf_probe_read_user(&p.port, 2, uaddr + 2);
		bpf_probe_read_user(p.addr, 4, uaddr + 4);
	} else if (p.family == AF_INET6) {
		bpf_probe_read_user(&p.port, 2, uaddr + 2);
		bpf_probe_read_user(p.addr, 16, uaddr + 8);
	} else {
		return;
	}
	add_peer(l, &p);
}

static __always_inline void *msg_name(void *msg)
{
	void *name = NULL;

	if (msg)
		bpf_probe_read_user(&name, sizeof(name), msg); /* struct user_msghdr: msg_name first */
	return name;
}

static __always_inline void count(struct sock *sk, int ret, bool recv, int flags)
{
	__u64 key = (__u64)sk;
	struct life *l;
	struct pending *p;

	if (ret <= 0)
		return;
	l = bpf_map_lookup_elem(&socks, &key);
	if (!l)
		return;
	if (recv) {
		if (flags & 2) /* MSG_PEEK: not consumed */
			return;
		__sync_fetch_and_add(&l->rx_bytes, ret);
		__sync_fetch_and_add(&l->rx_packets, 1);
	} else {
		__sync_fetch_and_add(&l->tx_bytes, ret);
		__sync_fetch_and_add(&l->tx_packets, 1);
	}
	p = recipes_thread_get(&pending);
	if (!p || !p->recv != !recv)
		return;
	if (recv) {
		/* the sender's address reaches user memory after this (move_addr_to_user): at exit */
		p->sk = key;
	} else {
		/* a send's destination is the caller's input: valid now; used once */
		note_peer(l, p->msg ? msg_name(p->msg) : p->addr);
		recipes_thread_drop(&pending);
	}
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(udplife_send, struct sock *sk, int ret, int flags)
{
	count(sk, ret, false, flags);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(udplife_recv, struct sock *sk, int ret, int flags)
{
	count(sk, ret, true, flags);
	return 0;
}

static __always_inline int remember(void *addr, void *msg, bool recv)
{
	struct pending p = { .addr = addr, .msg = msg, .recv = recv };

	if (!addr && !msg)
		return recipes_thread_drop(&pending);
	return recipes_thread_put(&pending, &p);
}

/* sendto/recvfrom(fd, buf, len, flags, addr, addrlen); sendmsg/recvmsg(fd, msg, flags) */
RECIPES_SYS_ENTER(udplife, sendto) { return remember((void *)ctx->args[4], NULL, false); }
RECIPES_SYS_ENTER(udplife, recvfrom) { return remember((void *)ctx->args[4], NULL, true); }
RECIPES_SYS_ENTER(udplife, sendmsg) { return remember(NULL, (void *)ctx->args[1], false); }
RECIPES_SYS_ENTER(udplife, recvmsg) { return remember(NULL, (void *)ctx->args[1], true); }

/* a receive is over: the peer's address is now in the caller's buffer */
static __always_inline int received(long ret)
{
	struct pending *p = recipes_thread_get(&pending);
	struct life *l;
	__u64 key;

	if (!p)
		return 0;
	key = p->sk;
	if (p->recv && key && ret >= 0) {
		l = bpf_map_lookup_elem(&socks, &key);
		if (l)
			note_peer(l, p->msg ? msg_name(p->msg) : p->addr);
	}
	return recipes_thread_drop(&pending);
}

RECIPES_SYS_EXIT(udplife, recvfrom) { return received(ctx->ret); }
RECIPES_SYS_EXIT(udplife, recvmsg) { return received(ctx->ret); }

/*
 * Kernels without sock_send_length/sock_recv_length: the packets themselves, at the cgroup skb
 * hooks (the data starts at the network header). Egress: a datagram the socket sent, before any
 * IP fragmentation; ingress: one delivered to the socket (reassembled), read or not. Bytes are the
 * UDP payload; the peer is the destination (egress) or the source (ingress).
 */
static __always_inline int skb_count(struct __sk_buff *skb, bool ingress)
{
	struct bpf_sock *sk = skb->sk;
	struct peer p = {};
	struct life *l;
	__u32 off, len;
	__u64 key;
	__u8 nexthdr, b[2];

	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk || sk->protocol != IPPROTO_UDP)
		return 1;
	key = (__u64)sk;
	l = bpf_map_lookup_elem(&socks, &key);
	if (!l)
		return 1;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, 0, b, 1) || bpf_skb_load_bytes(skb, 9, &nexthdr, 1) || nexthdr != IPPROTO_UDP)
			return 1;
		off = (b[0] & 0xf) * 4;
		/* an IPv6 socket talking IPv4 names its peers as ::ffff:a.b.c.d */
		p.family = l->family;
		if (l->family == AF_INET6) {
			p.addr[10] = p.addr[11] = 0xff;
			bpf_skb_load_bytes(skb, ingress ? 12 : 16, &p.addr[12], 4);
		} else {
			bpf_skb_load_bytes(skb, ingress ? 12 : 16, p.addr, 4);
		}
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, 6, &nexthdr, 1))
			return 1;
		off = 40;
		/* hop-by-hop, routing and destination options headers may come before UDP */
		for (int i = 0; i < 4 && (nexthdr == 0 || nexthdr == 43 || nexthdr == 60); i++) {
			if (bpf_skb_load_bytes(skb, off, b, 2))
				return 1;
			nexthdr = b[0];
			off += (b[1] + 1) * 8;
		}
		if (nexthdr != IPPROTO_UDP)
			return 1;
		p.family = AF_INET6;
		bpf_skb_load_bytes(skb, ingress ? 8 : 24, p.addr, 16);
	} else {
		return 1;
	}
	if (bpf_skb_load_bytes(skb, off + (ingress ? 0 : 2), &p.port, 2))
		return 1;
	len = skb->len > off + 8 ? skb->len - off - 8 : 0;
	if (ingress) {
		__sync_fetch_and_add(&l->rx_bytes, len);
		__sync_fetch_and_add(&l->rx_packets, 1);
	} else {
		__sync_fetch_and_add(&l->tx_bytes, len);
		__sync_fetch_and_add(&l->tx_packets, 1);
	}
	add_peer(l, &p);
	return 1; /* allow */
}

SEC("cgroup_skb/egress")
int udplife_egress(struct __sk_buff *skb)
{
	return skb_count(skb, false);
}

SEC("cgroup_skb/ingress")
int udplife_ingress(struct __sk_buff *skb)
{
	return skb_count(skb, true);
}

static __always_inline bool port_in(__u16 port, const volatile __u16 *list, __u32 n)
{
	if (n == 0)
		return true;
	for (int i = 0; i < 8; i++) {
		if (i >= n)
			break;
		if (list[i] == port)
			return true;
	}
	return false;
}

/* this CPU's totals for the socket's family, added atomically (recipes.h); user space sums the CPUs at scrape */
static __always_inline void count_metric(struct life *l, __u64 now)
{
	__u32 k = l->family == AF_INET6;
	struct sock_metric *m = bpf_map_lookup_elem(&sock_metrics, &k);
	__u64 lifetime = now - l->start_ns;
	__u32 slot = recipes_hist_slot(lifetime / 1000, UDPLIFE_HIST_SLOTS);

	if (!m)
		return;
	__sync_fetch_and_add(&m->count, 1);
	__sync_fetch_and_add(&m->lifetime_ns, lifetime);
	__sync_fetch_and_add(&m->tx_bytes, l->tx_bytes);
	__sync_fetch_and_add(&m->rx_bytes, l->rx_bytes);
	__sync_fetch_and_add(&m->slots[slot & (UDPLIFE_HIST_SLOTS - 1)], 1);
}

SEC("cgroup/sock_release")
int udplife_release(struct bpf_sock *ctx)
{
	__u64 key = (__u64)ctx;
	/* this program may read few fields of its context; the context is the sock itself */
	struct sock *sk = (struct sock *)key;
	struct life *l = bpf_map_lookup_elem(&socks, &key);
	struct event *e;
	__u16 lport, dport;
	__u64 now;

	if (!l)
		return 1;
	lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
	if (!port_in(lport, cfg_lports, cfg_nlports) || !port_in(bpf_ntohs(dport ? dport : l->last.port), cfg_rports, cfg_nrports))
		goto out;
	now = bpf_ktime_get_ns();
	if (cfg_metrics)
		count_metric(l, now);
	e = cfg_events ? RESERVE_EVENT(struct event) : NULL;
	if (!e)
		goto out;
	__builtin_memset(e->laddr, 0, sizeof(e->laddr));
	__builtin_memset(e->raddr, 0, sizeof(e->raddr));
	e->ts_ns = now;
	e->start_ns = l->start_ns;
	e->tx_bytes = l->tx_bytes;
	e->rx_bytes = l->rx_bytes;
	e->tx_packets = l->tx_packets;
	e->rx_packets = l->rx_packets;
	e->pid = l->pid;
	e->uid = l->uid;
	e->family = l->family;
	e->lport = lport;
	e->rport = bpf_ntohs(dport ? dport : l->last.port);
	e->connected = dport != 0;
	e->peers = e->connected ? 1 : l->npeers;
	__builtin_memcpy(e->comm, l->comm, sizeof(e->comm));
	if (l->family == AF_INET) {
		BPF_CORE_READ_INTO((__u32 *)e->laddr, sk, __sk_common.skc_rcv_saddr);
		if (e->connected)
			BPF_CORE_READ_INTO((__u32 *)e->raddr, sk, __sk_common.skc_daddr);
		else
			__builtin_memcpy(e->raddr, l->last.addr, 4);
	} else {
		BPF_CORE_READ_INTO((struct in6_addr *)e->laddr, sk, __sk_common.skc_v6_rcv_saddr);
		if (e->connected)
			BPF_CORE_READ_INTO((struct in6_addr *)e->raddr, sk, __sk_common.skc_v6_daddr);
		else
			__builtin_memcpy(e->raddr, l->last.addr, 16);
	}
	bpf_ringbuf_submit(e, 0);
out:
	bpf_map_delete_elem(&socks, &key);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
