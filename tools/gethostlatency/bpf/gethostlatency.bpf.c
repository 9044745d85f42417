// SPDX-License-Identifier: GPL-2.0
/*
 * gethostlatency: latency of name resolution through libc, on uprobes/uretprobes.
 * (BPF_KPROBE/BPF_KRETPROBE are libbpf 1.1's pt_regs argument wrappers; they serve uprobes alike.)
 * One entry program per argument layout; the function is told by the attach cookie. The
 * return program computes the latency and, with -e, walks the result (struct addrinfo list or
 * struct hostent) in user memory. The layouts below are glibc's 64-bit ABI.
 */
#include "vmlinux.h"
#include "recipes.h"
#include "gethostlatency.h"

RECIPES_EVENTS(1 << 22);

/* libbpf 1.1 names registers for five arguments; the sixth and seventh, by ABI */
#if defined(__TARGET_ARCH_x86)
#define ARG6(ctx) ((ctx)->r9)
#define ARG7(ctx) ({ void *__v = NULL; bpf_probe_read_user(&__v, sizeof(__v), (void *)((ctx)->sp + 8)); __v; })
#define ARG8(ctx) ({ void *__v = NULL; bpf_probe_read_user(&__v, sizeof(__v), (void *)((ctx)->sp + 16)); __v; })
#elif defined(__TARGET_ARCH_arm64)
#define ARG6(ctx) (((struct user_pt_regs *)(ctx))->regs[5])
#define ARG7(ctx) ((void *)((struct user_pt_regs *)(ctx))->regs[6])
#define ARG8(ctx) ((void *)((struct user_pt_regs *)(ctx))->regs[7])
#endif

const volatile bool cfg_addrs = false;        /* -e */
const volatile __u64 cfg_min_lat_ns = 0;      /* --min-latency */
RECIPES_METRICS_CONFIG(); /* --metrics: count in lookup_metrics */

/* glibc, LP64 */
struct u_addrinfo {
	int ai_flags;
	int ai_family;
	int ai_socktype;
	int ai_protocol;
	unsigned int ai_addrlen;
	void *ai_addr;
	char *ai_canonname;
	struct u_addrinfo *ai_next;
};

struct u_hostent {
	char *h_name;
	char **h_aliases;
	int h_addrtype;
	int h_length;
	char **h_addr_list;
};

struct call {
	struct recipes_ucall u; /* when, at which stack pointer (nested calls are below it), which function */
	__u32 qfamily;
	__u32 pad;
	void *res;      /* getaddrinfo: struct addrinfo **; *_r: struct hostent ** */
	int *herrnop;   /* *_r, or the h_errnop of the _r call nested in a non-_r one (glibc's &h_errno) */
	char host[GHL_HOST_LEN];
};

RECIPES_MAP(calls, HASH, 10240, __u32, struct call); /* by the kernel's TID: the call it is in */
RECIPES_SCRATCH(call_scratch, struct call);
/* by enum ghl_func: this CPU's totals, summed by user space at scrape time */
RECIPES_MAP(lookup_metrics, PERCPU_ARRAY, GHL_NFUNCS, __u32, struct ghl_metric);

RECIPES_EXPORT(event);
RECIPES_EXPORT(ghl_metric);
RECIPES_EXPORT_ENUM(ghl_func);

/*
 * A call entering: recorded unless it is nested in one this thread is in already (then the outer one
 * is what the caller asked). res: where the result will be (getaddrinfo: struct addrinfo **; *_r:
 * struct hostent **; else NULL); herrnop: an _r function's h_errnop, NULL for the others.
 * NULL: not recorded; else the record, its host to be filled and then stored with recipes_thread_put().
 */
static __always_inline struct call *begin(struct pt_regs *ctx, void *res, int *herrnop)
{
	struct call *c;

	if (!recipes_task_allowed())
		return NULL;
	c = (struct call *)recipes_ucall_outer(ctx, &calls);
	if (c) {
		/* gethostbyname & co. call their _r form with &h_errno: the reason the outer one fails */
		if (herrnop && !c->herrnop)
			c->herrnop = herrnop;
		return NULL;
	}
	c = recipes_scratch(&call_scratch);
	if (!c)
		return NULL;
	recipes_ucall_start(ctx, &c->u);
	c->qfamily = 0;
	c->pad = 0;
	c->res = res;
	c->herrnop = herrnop;
	c->host[0] = 0;
	return c;
}

/* a call by name: the name is its first argument */
static __always_inline int begin_name(struct pt_regs *ctx, void *res, int *herrnop)
{
	struct call *c = begin(ctx, res, herrnop);

	if (!c)
		return 0;
	bpf_probe_read_user_str(c->host, sizeof(c->host), (void *)PT_REGS_PARM1(ctx));
	return recipes_thread_put(&calls, c);
}

/* a call by address: (addr, len, type, ...); the address's bytes are kept as its host */
static __always_inline int begin_addr(struct pt_regs *ctx, void *res, int *herrnop)
{
	struct call *c = begin(ctx, res, herrnop);
	__u64 n = PT_REGS_PARM2(ctx) & 0xff;

	if (!c)
		return 0;
	if (n > 16)
		n = 16;
	bpf_probe_read_user(c->host, n, (void *)PT_REGS_PARM1(ctx));
	c->qfamily = PT_REGS_PARM3(ctx);
	return recipes_thread_put(&calls, c);
}

/* getaddrinfo(node, service, hints, res), gethostbyname(name), gethostbyname2(name, af) */
SEC("uprobe")
int gethostlatency_name(struct pt_regs *ctx)
{
	return begin_name(ctx, bpf_get_attach_cookie(ctx) == GHL_GETADDRINFO ? (void *)PT_REGS_PARM4(ctx) : NULL, NULL);
}

/* gethostbyname_r(name, ret, buf, buflen, result, h_errnop) */
SEC("uprobe")
int gethostlatency_name_r(struct pt_regs *ctx) { return begin_name(ctx, (void *)PT_REGS_PARM5(ctx), (int *)ARG6(ctx)); }

/* gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop): the 7th argument is on the stack */
SEC("uprobe")
int gethostlatency_name2_r(struct pt_regs *ctx) { return begin_name(ctx, (void *)ARG6(ctx), (int *)ARG7(ctx)); }

/* gethostbyaddr(addr, len, type) */
SEC("uprobe")
int gethostlatency_addr(struct pt_regs *ctx) { return begin_addr(ctx, NULL, NULL); }

/* gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop): Python's socket.gethostbyaddr */
SEC("uprobe")
int gethostlatency_addr_r(struct pt_regs *ctx) { return begin_addr(ctx, ARG7(ctx), (int *)ARG8(ctx)); }

static __always_inline void read_sockaddr(struct ghl_addr *a, void *sa)
{
	__u16 family = 0;

	bpf_probe_read_user(&family, sizeof(family), sa);
	a->family = family;
	if (family == 2) /* AF_INET: sin_addr at 4 */
		bpf_probe_read_user(a->addr, 4, sa + 4);
	else if (family == 10) /* AF_INET6: sin6_addr at 8 */
		bpf_probe_read_user(a->addr, 16, sa + 8);
}

static __always_inline __u32 read_addrinfo(struct event *e, struct u_addrinfo *ai)
{
	__u32 n = 0;

	for (int i = 0; i < GHL_MAX_ADDRS; i++) {
		void *sa = NULL;

		if (!ai)
			break;
		bpf_probe_read_user(&sa, sizeof(sa), &ai->ai_addr);
		if (sa) {
			read_sockaddr(&e->addrs[i], sa);
			n++;
		}
		bpf_probe_read_user(&ai, sizeof(ai), &ai->ai_next);
	}
	return n;
}

static __always_inline __u32 read_hostent(struct event *e, struct u_hostent *h)
{
	char **list = NULL;
	int type = 0, len = 0;
	__u32 n = 0;

	bpf_probe_read_user(&type, sizeof(type), &h->h_addrtype);
	bpf_probe_read_user(&len, sizeof(len), &h->h_length);
	bpf_probe_read_user(&list, sizeof(list), &h->h_addr_list);
	if (!list || len <= 0 || len > 16)
		return 0;
	for (int i = 0; i < GHL_MAX_ADDRS; i++) {
		char *addr = NULL;

		bpf_probe_read_user(&addr, sizeof(addr), &list[i]);
		if (!addr)
			break;
		e->addrs[i].family = type;
		bpf_probe_read_user(e->addrs[i].addr, len & 31, addr);
		n++;
	}
	return n;
}

SEC("uretprobe")
int BPF_KRETPROBE(gethostlatency_ret, long ret)
{
	struct call *c = (struct call *)recipes_ucall_returned(ctx, &calls);
	struct event *e;
	__u64 now = bpf_ktime_get_ns(), lat;

	if (!c)
		return 0;
	lat = now - c->u.ts_ns;
	if (lat < cfg_min_lat_ns)
		goto out;
	if (cfg_metrics) {
		__u32 f = c->u.func, slot = recipes_hist_slot(lat / 1000, GHL_HIST_SLOTS);
		struct ghl_metric *m = bpf_map_lookup_elem(&lookup_metrics, &f);

		if (m) {
			__sync_fetch_and_add(&m->count, 1);
			__sync_fetch_and_add(&m->lat_ns, lat);
			__sync_fetch_and_add(&m->slots[slot & (GHL_HIST_SLOTS - 1)], 1);
		}
	}
	e = cfg_events ? RESERVE_EVENT(struct event) : NULL;
	if (!e)
		goto out;
	__builtin_memset(e->addrs, 0, sizeof(e->addrs));
	e->ts_ns = now;
	e->lat_ns = lat;
	RECIPES_EVENT_TASK(e, recipes_current_ids());
	e->func = c->u.func;
	e->herrno = 0;
	e->naddrs = 0;
	e->qfamily = c->qfamily;
	__builtin_memcpy(e->host, c->host, sizeof(e->host));
	switch (c->u.func) {
	case GHL_GETADDRINFO:
		e->ret = (int)ret;
		if (cfg_addrs && ret == 0 && c->res) {
			struct u_addrinfo *ai = NULL;

			bpf_probe_read_user(&ai, sizeof(ai), c->res);
			e->naddrs = read_addrinfo(e, ai);
		}
		break;
	case GHL_GETHOSTBYNAME_R:
	case GHL_GETHOSTBYNAME2_R:
	case GHL_GETHOSTBYADDR_R: {
		struct u_hostent *h = NULL;

		e->ret = (int)ret;
		if (c->res)
			bpf_probe_read_user(&h, sizeof(h), c->res);
		if (!h && e->ret == 0)
			e->ret = -1;
		if (c->herrnop && !h)
			bpf_probe_read_user(&e->herrno, sizeof(e->herrno), c->herrnop);
		if (cfg_addrs && h)
			e->naddrs = read_hostent(e, h);
		break;
	}
	default: /* returns struct hostent * or NULL */
		e->ret = ret ? 0 : -1;
		if (!ret && c->herrnop)
			bpf_probe_read_user(&e->herrno, sizeof(e->herrno), c->herrnop);
		if (cfg_addrs && ret)
			e->naddrs = read_hostent(e, (struct u_hostent *)ret);
	}
	bpf_ringbuf_submit(e, 0);
out:
	return recipes_thread_drop(&calls);
}

RECIPES_UCALL_CLEANUP(gethostlatency, calls);

char LICENSE[] SEC("license") = "GPL";
