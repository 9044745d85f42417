// SPDX-License-Identifier: GPL-2.0
/*
 * sslsnoop: plaintext at the TLS library boundary, on uprobes/uretprobes.
 * Entry programs remember the buffer (and, for the _ex functions, where the length will be
 * written) per thread; the return program learns how many bytes moved and copies them then, when
 * a read buffer holds the decrypted data. The function is told by the attach cookie. Records are
 * as long as the data they carry (built in a per-CPU buffer, sent with recipes_output).
 */
#include "vmlinux.h"
#include "recipes.h"
#include "sslsnoop.h"

RECIPES_EVENTS(1 << 22);

const volatile __u32 cfg_max_data = 8192;     /* --max-buffer-size */
const volatile bool cfg_metrics = false;      /* --metrics: count in tls_bytes */
const volatile bool cfg_events = true;        /* false: the exporter, counts only, no event sent */

struct call {
	__u64 ts_ns;
	__u64 sp;       /* the call's stack pointer at entry: nested probed calls (NSS layers call
	                 * PR_* on the socket underneath) are below it (recipes.h) */
	void *buf;
	void *lenp;     /* SSL_read_ex/SSL_write_ex: size_t *readbytes / *written */
	__u32 func;
	__u32 pad;
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
	__type(value, struct event_buf);
} scratch SEC(".maps");

/* --metrics / the exporter: plaintext bytes moved, by enum ssl_func (this CPU's; summed at scrape time) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SSLSNOOP_NFUNCS);
	__type(key, __u32);
	__type(value, __u64);
} tls_bytes SEC(".maps");

RECIPES_EXPORT(event);
RECIPES_EXPORT_ENUM(ssl_func);

static __always_inline int begin(struct pt_regs *ctx, void *buf, void *lenp)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct call c = {}, *outer;

	if (!recipes_task_allowed())
		return 0;
	outer = bpf_map_lookup_elem(&calls, &tid);
	if (outer && recipes_ucall_nested(ctx, outer->sp))
		return 0; /* the outer call is the one the application made */
	c.ts_ns = bpf_ktime_get_ns();
	c.sp = recipes_ucall_sp(ctx);
	c.buf = buf;
	c.lenp = lenp;
	c.func = bpf_get_attach_cookie(ctx);
	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
	return 0;
}

/* SSL_read/SSL_write(ssl, buf, num), gnutls_record_recv/send(session, data, size),
 * PR_Read/PR_Write/PR_Recv/PR_Send(fd, buf, amount, ...) */
SEC("uprobe")
int sslsnoop_enter(struct pt_regs *ctx)
{
	return begin(ctx, (void *)PT_REGS_PARM2(ctx), NULL);
}

/* SSL_read_ex/SSL_write_ex(ssl, buf, num, size_t *done) */
SEC("uprobe")
int sslsnoop_enter_ex(struct pt_regs *ctx)
{
	return begin(ctx, (void *)PT_REGS_PARM2(ctx), (void *)PT_REGS_PARM4(ctx));
}

/* SSL_do_handshake(ssl) */
SEC("uprobe")
int sslsnoop_enter_handshake(struct pt_regs *ctx)
{
	return begin(ctx, NULL, NULL);
}

SEC("uretprobe")
int sslsnoop_return(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	__u32 tid = (__u32)id, zero = 0;
	long ret = PT_REGS_RC(ctx);
	struct call *c = bpf_map_lookup_elem(&calls, &tid);
	struct event_buf *b;
	struct event *e;
	__u64 len = 0, n;

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
	if (c->func != F_gnutls_record_recv && c->func != F_gnutls_record_send)
		ret = (int)ret; /* OpenSSL and NSPR return int: the upper half of the register is not theirs */
	if (c->lenp) {
		if (ret == 1)
			bpf_probe_read_user(&len, sizeof(len), c->lenp);
	} else if (c->func != F_SSL_do_handshake && ret > 0) {
		len = ret;
	}
	if (c->func != F_SSL_do_handshake && len == 0)
		goto out; /* nothing moved: would-block, error, or closed */
	if (cfg_metrics) {
		__u32 f = c->func;
		__u64 *bytes = bpf_map_lookup_elem(&tls_bytes, &f);

		if (bytes)
			__sync_fetch_and_add(bytes, len);
	}
	if (!cfg_events)
		goto out;
	b = bpf_map_lookup_elem(&scratch, &zero);
	if (!b)
		goto out;
	e = &b->e;
	e->ts_ns = now;
	e->lat_ns = now - c->ts_ns;
	id = recipes_current_ids(); /* as the tool's PID namespace sees them */
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->func = c->func;
	e->ret = ret;
	e->len = len;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	n = len < cfg_max_data ? len : cfg_max_data;
	if (n > SSLSNOOP_MAX_DATA)
		n = SSLSNOOP_MAX_DATA;
	if (n && bpf_probe_read_user(b->data, n, c->buf))
		n = 0;
	e->copied = n;
	recipes_output(b, sizeof(struct event) + n);
out:
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

RECIPES_UCALL_CLEANUP(sslsnoop, calls);

char LICENSE[] SEC("license") = "GPL";
