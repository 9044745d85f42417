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
RECIPES_METRICS_CONFIG(); /* --metrics: count in tls_bytes */

struct call {
	struct recipes_ucall u; /* when, at which stack pointer (nested probed calls, as NSS layers
	                         * calling PR_* on the socket underneath, are below it), which function */
	void *buf;
	void *lenp;     /* SSL_read_ex/SSL_write_ex: size_t *readbytes / *written */
};

RECIPES_MAP(calls, HASH, 10240, __u32, struct call); /* by the kernel's TID: the call it is in */
RECIPES_SCRATCH(scratch, struct event_buf);
/* --metrics / the exporter: plaintext bytes moved, by enum ssl_func (this CPU's; summed at scrape time) */
RECIPES_MAP(tls_bytes, PERCPU_ARRAY, SSLSNOOP_NFUNCS, __u32, __u64);

RECIPES_EXPORT(event);
RECIPES_EXPORT_ENUM(ssl_func);

static __always_inline int begin(struct pt_regs *ctx, void *buf, void *lenp)
{
	struct call c = { .buf = buf, .lenp = lenp };

	if (!recipes_task_allowed() || recipes_ucall_outer(ctx, &calls))
		return 0; /* nested: the outer call is the one the application made */
	recipes_ucall_start(ctx, &c.u);
	return recipes_thread_put(&calls, &c);
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
	__u64 now = bpf_ktime_get_ns();
	long ret = PT_REGS_RC(ctx);
	struct call *c = (struct call *)recipes_ucall_returned(ctx, &calls);
	struct event_buf *b;
	struct event *e;
	__u64 len = 0, n;
	__u32 func;

	if (!c)
		return 0;
	func = c->u.func;
	if (func != F_gnutls_record_recv && func != F_gnutls_record_send)
		ret = (int)ret; /* OpenSSL and NSPR return int: the upper half of the register is not theirs */
	if (c->lenp) {
		if (ret == 1)
			bpf_probe_read_user(&len, sizeof(len), c->lenp);
	} else if (func != F_SSL_do_handshake && ret > 0) {
		len = ret;
	}
	if (func != F_SSL_do_handshake && len == 0)
		goto out; /* nothing moved: would-block, error, or closed */
	if (cfg_metrics) {
		__u64 *bytes = bpf_map_lookup_elem(&tls_bytes, &func);

		if (bytes)
			__sync_fetch_and_add(bytes, len);
	}
	b = cfg_events ? recipes_scratch(&scratch) : NULL;
	if (!b)
		goto out;
	e = &b->e;
	e->ts_ns = now;
	e->lat_ns = now - c->u.ts_ns;
	RECIPES_EVENT_TASK(e, recipes_current_ids());
	e->func = func;
	e->ret = ret;
	e->len = len;
	n = len < cfg_max_data ? len : cfg_max_data;
	if (n > SSLSNOOP_MAX_DATA)
		n = SSLSNOOP_MAX_DATA;
	if (n && bpf_probe_read_user(b->data, n, c->buf))
		n = 0;
	e->copied = n;
	recipes_output(b, sizeof(struct event) + n);
out:
	return recipes_thread_drop(&calls);
}

RECIPES_UCALL_CLEANUP(sslsnoop, calls);

char LICENSE[] SEC("license") = "GPL";
