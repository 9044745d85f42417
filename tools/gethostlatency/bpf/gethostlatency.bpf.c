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
const volatile bool cfg_metrics = false;      /* --metrics: count in lookup_metrics */
const volatile bool cfg_events = true;        /* false: the exporter, counts only, no event sent */

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
	__u64 ts_ns;
	__u64 sp;       /* the call's stack pointer at entry: nested calls are below it (recipes.h) */
	__u32 func;
	__u32 qfamily;
	void *res;      /* getaddrinfo: struct addrinfo **; *_r: struct hostent ** */
	int *herrnop;   /* *_r, or the h_errnop of the _r call nested in a non-_r one (glibc's &h_errno) */
	char host[GHL_HOST_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct call);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct call);
} call_scratch SEC(".maps");

/* by enum ghl_func: this CPU's totals, summed by user space at scrape time */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GHL_NFUNCS);
	__type(key, __u32);
	__type(value, struct ghl_metric);
} lookup_metrics SEC(".maps");

RECIPES_EXPORT(event);
RECIPES_EXPORT(ghl_metric);
RECIPES_EXPORT_ENUM(ghl_func);

/* herrnop: an _r function's h_errnop, NULL for the others */
static __always_inline struct call *begin(struct pt_regs *ctx, int *herrnop)
{
	__u32 zero = 0, tid = (__u32)bpf_get_current_pid_tgid();
	struct call *c;

	if (!recipes_task_allowed())
		return NULL;
	c = bpf_map_lookup_elem(&calls, &tid);
	if (c && recipes_ucall_nested(ctx, c->sp)) {
		/* inside a call we already time: the outer one is what the caller asked */
		/* gethostbyname & co. call their _r form with &h_errno: the reason the outer one fails */
		if (herrnop && !c->herrnop)
			c->herrnop = herrnop;
		return NULL;
	}
	c = bpf_map_lookup_elem(&call_scratch, &zero);
	if (!c)
		return NULL;
	c->ts_ns = bpf_ktime_get_ns();
	c->sp = recipes_ucall_sp(ctx);
	c->func = bpf_get_attach_cookie(ctx);
	c->qfamily = 0;
	c->res = NULL;
	c->herrnop = herrnop;
	c->host[0] = 0;
	return c;
}

static __always_inline int save(struct call *c)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_update_elem(&calls, &tid, c, BPF_ANY);
	return 0;
}

/* getaddrinfo(node, service, hints, res), gethostbyname(name), gethostbyname2(name, af) */
SEC("uprobe")
int BPF_KPROBE(gethostlatency_name, const char *name, void *arg1, void *arg2, void *arg3)
{
	struct call *c = begin(ctx, NULL);

	if (!c)
		return 0;
	bpf_probe_read_user_str(c->host, sizeof(c->host), name);
	if (c->func == GHL_GETADDRINFO)
		c->res = arg3;
	return save(c);
}

/* gethostbyname_r(name, ret, buf, buflen, result, h_errnop) */
SEC("uprobe")
int gethostlatency_name_r(struct pt_regs *ctx)
{
	struct call *c = begin(ctx, (int *)ARG6(ctx));

	if (!c)
		return 0;
	bpf_probe_read_user_str(c->host, sizeof(c->host), (void *)PT_REGS_PARM1(ctx));
	c->res = (void *)PT_REGS_PARM5(ctx);
	return save(c);
}

/* gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop): the 7th argument is on the stack */
SEC("uprobe")
int gethostlatency_name2_r(struct pt_regs *ctx)
{
	struct call *c = begin(ctx, (int *)ARG7(ctx));

	if (!c)
		return 0;
	bpf_probe_read_user_str(c->host, sizeof(c->host), (void *)PT_REGS_PARM1(ctx));
	c->res = (void *)ARG6(ctx);
	return save(c);
}

/* gethostbyaddr(addr, len, type) */
SEC("uprobe")
int BPF_KPROBE(gethostlatency_addr, const void *addr, __u32 len, int type)
{
	struct call *c = begin(ctx, NULL);
	__u64 n = len & 0xff;

	if (!c)
		return 0;
	if (n > 16)
		n = 16;
	bpf_probe_read_user(c->host, n, addr);
	c->qfamily = type;
	return save(c);
}

/* gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop): Python's socket.gethostbyaddr */
SEC("uprobe")
int gethostlatency_addr_r(struct pt_regs *ctx)
{
	struct call *c = begin(ctx, (int *)ARG8(ctx));
	__u64 n = PT_REGS_PARM2(ctx) & 0xff;

	if (!c)
		return 0;
	if (n > 16)
		n = 16;
	bpf_probe_read_user(c->host, n, (void *)PT_REGS_PARM1(ctx));
	c->qfamily = PT_REGS_PARM3(ctx);
	c->res = (void *)ARG7(ctx);
	return save(c);
}

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
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct call *c = bpf_map_lookup_elem(&calls, &tid);
	struct event *e;
	__u64 now = bpf_ktime_get_ns();

	if (!c)
		return 0;
	switch (recipes_ucall_return(ctx, c->sp)) {
	case RECIPES_UCALL_INNER:
		return 0;
	case RECIPES_UCALL_STALE:
		goto out;
	default:
		break;
	}
	if (now - c->ts_ns < cfg_min_lat_ns)
		goto out;
	if (cfg_metrics) {
		__u32 f = c->func;
		struct ghl_metric *m = bpf_map_lookup_elem(&lookup_metrics, &f);
		__u64 lat = now - c->ts_ns;
		__u32 slot = recipes_log2_slot(lat / 1000);

		if (m) {
			__sync_fetch_and_add(&m->count, 1);
			__sync_fetch_and_add(&m->lat_ns, lat);
			__sync_fetch_and_add(&m->slots[(slot >= GHL_HIST_SLOTS ? GHL_HIST_SLOTS - 1 : slot) & (GHL_HIST_SLOTS - 1)], 1);
		}
	}
	if (!cfg_events)
		goto out;
	e = RESERVE_EVENT(struct event);
	if (!e)
		goto out;
	__builtin_memset(e->addrs, 0, sizeof(e->addrs));
	e->ts_ns = now;
	e->lat_ns = now - c->ts_ns;
	id = recipes_current_ids(); /* as the tool's PID namespace sees them */
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->func = c->func;
	e->herrno = 0;
	e->naddrs = 0;
	e->qfamily = c->qfamily;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	__builtin_memcpy(e->host, c->host, sizeof(e->host));
	switch (c->func) {
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
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

RECIPES_UCALL_CLEANUP(gethostlatency, calls);

char LICENSE[] SEC("license") = "GPL";
