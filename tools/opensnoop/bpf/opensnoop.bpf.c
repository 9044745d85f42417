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
RECIPES_METRICS_CONFIG(); /* --metrics: count in open_results */

/* --metrics / the exporter: opens by result (0: success, else the errno), this CPU's counts */
RECIPES_MAP(open_results, PERCPU_HASH, 16384, struct open_result_key, __u64);

struct args {
	__u64 ts_ns;
	const char *path;
	__u32 flags;
	__u32 mode;
	__s32 dirfd;
	__u32 call;
};

RECIPES_MAP(start, HASH, 10240, __u32, struct args); /* by the kernel's TID: the open in progress */
RECIPES_SCRATCH(scratch, struct event);

RECIPES_EXPORT(event);
RECIPES_EXPORT_ENUM(open_call);
RECIPES_EXPORT(open_result_key);

static __always_inline int on_enter(const char *path, __u32 flags, __u32 mode, __s32 dirfd, __u32 call)
{
	struct args a = { .path = path, .flags = flags, .mode = mode, .dirfd = dirfd, .call = call };

	if (!recipes_task_allowed())
		return 0;
	if (cfg_flag_filter && !(flags & cfg_flag_bits) && !(cfg_accmodes & (1u << (flags & 3))))
		return 0;
	a.ts_ns = bpf_ktime_get_ns();
	return recipes_thread_put(&start, &a);
}

static __always_inline int on_exit(long ret)
{
	struct args *a = recipes_thread_get(&start);
	struct event *e;
	long len;

	if (!a)
		return 0;
	if (cfg_failed && ret >= 0)
		goto cleanup;
	if (cfg_metrics) {
		struct open_result_key k = { .err = ret < 0 ? -ret : 0 };

		recipes_metrics_by(k.by);
		recipes_count_key(&open_results, &k);
	}
	e = cfg_events ? recipes_scratch(&scratch) : NULL;
	if (!e)
		goto cleanup;
	e->ts_ns = bpf_ktime_get_ns();
	e->lat_ns = e->ts_ns - a->ts_ns;
	RECIPES_EVENT_TASK(e, recipes_current_ids());
	e->ret = ret;
	e->dirfd = a->dirfd;
	e->flags = a->flags;
	e->mode = a->mode;
	e->call = a->call;
	len = bpf_probe_read_user_str(e->path, sizeof(e->path), a->path);
	if (len <= 0) {
		e->path[0] = 0;
		len = 1;
	}
	if (len > OPENSNOOP_PATH_MAX)
		len = OPENSNOOP_PATH_MAX;
	recipes_output(e, offsetof(struct event, path) + len);
cleanup:
	return recipes_thread_drop(&start);
}

/* open(path, flags, mode) */
RECIPES_SYS_ENTER(opensnoop, open) { return on_enter((const char *)ctx->args[0], ctx->args[1], ctx->args[2], -100, CALL_OPEN); }
/* openat(dirfd, path, flags, mode) */
RECIPES_SYS_ENTER(opensnoop, openat) { return on_enter((const char *)ctx->args[1], ctx->args[2], ctx->args[3], ctx->args[0], CALL_OPENAT); }

/* openat2(dirfd, path, how, size): flags and mode in struct open_how */
RECIPES_SYS_ENTER(opensnoop, openat2)
{
	struct open_how how = {};

	bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]);
	return on_enter((const char *)ctx->args[1], how.flags, how.mode, ctx->args[0], CALL_OPENAT2);
}

RECIPES_SYS_EXIT(opensnoop, open) { return on_exit(ctx->ret); }
RECIPES_SYS_EXIT(opensnoop, openat) { return on_exit(ctx->ret); }
RECIPES_SYS_EXIT(opensnoop, openat2) { return on_exit(ctx->ret); }

char LICENSE[] SEC("license") = "GPL";
