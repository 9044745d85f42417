// SPDX-License-Identifier: GPL-2.0
/* opensnoop: open(2), openat(2) and openat2(2) with their results, on syscall tracepoints. */
#include "vmlinux.h"
#include "recipes.h"

RECIPES_EVENTS(1 << 22); /* the event stream: ring buffer and lost counter (resized by --buffer-size) */
#include "recipes_metrics_by.h"
#include "opensnoop.h"

/* Filters of opensnoop's own, set before load. */
const volatile bool cfg_failed = false;
const volatile bool cfg_flag_filter = false;
const volatile __u32 cfg_flag_bits = 0;  /* any of these O_* bits */
const volatile __u32 cfg_accmodes = 0;   /* bit (1 << (flags & O_ACCMODE)) */
const volatile bool cfg_metrics = false; /* --metrics: count in open_results */
const volatile bool cfg_events = true;   /* false: the exporter, counts only, no event sent */

/* --metrics / the exporter: opens by result (0: success, else the errno), this CPU's counts */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct open_result_key);
	__type(value, __u64);
} open_results SEC(".maps");

struct args {
	__u64 ts_ns;
	const char *path;
	__u32 flags;
	__u32 mode;
	__s32 dirfd;
	__u32 call;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct args);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} scratch SEC(".maps");

RECIPES_EXPORT(event);
RECIPES_EXPORT_ENUM(open_call);
RECIPES_EXPORT(open_result_key);

static __always_inline int on_enter(const char *path, __u32 flags, __u32 mode, __s32 dirfd, __u32 call)
{
	struct args a = {};
	__u32 tid;

	if (!recipes_task_allowed())
		return 0;
	if (cfg_flag_filter && !(flags & cfg_flag_bits) && !(cfg_accmodes & (1u << (flags & 3))))
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	a.ts_ns = bpf_ktime_get_ns();
	a.path = path;
	a.flags = flags;
	a.mode = mode;
	a.dirfd = dirfd;
	a.call = call;
	bpf_map_update_elem(&start, &tid, &a, BPF_ANY);
	return 0;
}

static __always_inline int on_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, zero = 0;
	struct args *a;
	struct event *e;
	long len;

	a = bpf_map_lookup_elem(&start, &tid);
	if (!a)
		return 0;
	if (cfg_failed && ret >= 0)
		goto cleanup;
	if (cfg_metrics) {
		struct open_result_key k = { .err = ret < 0 ? -ret : 0 };
		__u64 *n;

		recipes_metrics_by(k.by);
		n = RECIPES_LOOKUP_OR_ZERO(&open_results, &k, __u64);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
	if (!cfg_events)
		goto cleanup;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		goto cleanup;
	e->ts_ns = bpf_ktime_get_ns();
	e->lat_ns = e->ts_ns - a->ts_ns;
	id = recipes_current_ids(); /* as the tool's PID namespace sees them */
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = ret;
	e->dirfd = a->dirfd;
	e->flags = a->flags;
	e->mode = a->mode;
	e->call = a->call;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	len = bpf_probe_read_user_str(e->path, sizeof(e->path), a->path);
	if (len <= 0) {
		e->path[0] = 0;
		len = 1;
	}
	if (len > OPENSNOOP_PATH_MAX)
		len = OPENSNOOP_PATH_MAX;
	recipes_output(e, offsetof(struct event, path) + len);
cleanup:
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int opensnoop_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[0], ctx->args[1], ctx->args[2], -100, CALL_OPEN);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int opensnoop_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[1], ctx->args[2], ctx->args[3], ctx->args[0], CALL_OPENAT);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int opensnoop_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return on_enter((const char *)ctx->args[1], how.flags, how.mode, ctx->args[0], CALL_OPENAT2);
}

SEC("tracepoint/syscalls/sys_exit_open")
int opensnoop_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int opensnoop_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int opensnoop_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret);
}

char LICENSE[] SEC("license") = "GPL";
