// SPDX-License-Identifier: GPL-2.0
/*
 * killsnoop: who sent which signal to whom, and the result.
 * Default: the six signal-sending syscalls (enter: remember the arguments per thread; exit: one
 * event with the result). signal:signal_generate fires inside those syscalls, once per target,
 * and supplies the target's comm (and, for pidfd_send_signal, its pid).
 * -a: signal:signal_generate alone, so signals the kernel generates (SIGSEGV, SIGCHLD, the OOM
 * killer's SIGKILL) are seen too, with the si_code and the delivery result.
 */
#include "vmlinux.h"
#include "recipes.h"

RECIPES_EVENTS(1 << 22); /* the event stream: ring buffer and lost counter (resized by --buffer-size) */
#include "recipes_metrics_by.h"
#include "killsnoop.h"

const volatile bool cfg_all = false;          /* -a */
const volatile bool cfg_failed = false;       /* -x */
const volatile __s32 cfg_tpid = 0;            /* --tpid */
const volatile __u64 cfg_sig_mask = 0;        /* -s: bit n = signal n (0..63); 0: all */
const volatile bool cfg_sig_64 = false;       /* -s includes signal 64 */
RECIPES_METRICS_CONFIG(); /* --metrics: count in sig_metrics */

/* a signal-sending syscall in progress: its arguments, and its target as signal_generate names it */
struct pending {
	__u64 ts_ns;
	__s32 tpid;
	__s32 ttid;
	__s32 sig;
	__s32 source;
	__s32 pidfd;
	char tcomm[16];
};

RECIPES_MAP(pending, HASH, 10240, __u32, struct pending); /* by the kernel's TID */
/* --metrics: what a scrape reads (signals by signal and result), next to the ring buffer's events */
RECIPES_MAP(sig_metrics, PERCPU_HASH, 4096, struct sig_metric_key, __u64);

RECIPES_EXPORT(event);
RECIPES_EXPORT(sig_metric_key);
RECIPES_EXPORT_ENUM(ks_source); /* event.source: its values reach the TypeScript side through codegen */

static __always_inline bool sig_wanted(int sig)
{
	if (!cfg_sig_mask && !cfg_sig_64)
		return true;
	if (sig == 64)
		return cfg_sig_64;
	return sig >= 0 && sig < 64 && (cfg_sig_mask & (1ULL << sig));
}

/* this CPU's count for (signal, result), added atomically (recipes.h); user space sums the CPUs at scrape */
static __always_inline void count_metric(__s32 sig, __s32 ret, __u32 generated)
{
	struct sig_metric_key k = { .sig = sig, .ret = ret, .generated = generated };

	recipes_metrics_by(k.by);
	recipes_count_key(&sig_metrics, &k);
}

static __always_inline int enter(__s32 tpid, __s32 ttid, __s32 sig, __s32 source, __s32 pidfd)
{
	struct pending p = {}; /* its padding too: the whole value is copied into the map */

	if (cfg_all || !sig_wanted(sig) || !recipes_task_allowed())
		return 0;
	/* --tpid: checked at exit, when signal_generate has said who the target is (for
	 * pidfd_send_signal, and for a sender whose PID namespace is not the tool's) */
	p.ts_ns = bpf_ktime_get_ns();
	p.tpid = tpid;
	p.ttid = ttid;
	p.sig = sig;
	p.source = source;
	p.pidfd = pidfd;
	return recipes_thread_put(&pending, &p);
}

static __always_inline int leave(long ret)
{
	struct pending *p = recipes_thread_get(&pending);
	struct event *e;

	if (!p)
		return 0;
	if (cfg_failed && ret >= 0)
		goto out;
	if (cfg_tpid && p->tpid != cfg_tpid && p->ttid != cfg_tpid)
		goto out;
	if (cfg_metrics)
		count_metric(p->sig, ret, 0);
	e = cfg_events ? RESERVE_EVENT(struct event) : NULL;
	if (!e)
		goto out;
	e->ts_ns = bpf_ktime_get_ns();
	RECIPES_EVENT_TASK(e, recipes_current_ids());
	e->tpid = p->tpid;
	e->ttid = p->ttid;
	e->sig = p->sig;
	e->ret = ret;
	e->code = 0;
	e->source = p->source;
	e->pidfd = p->pidfd;
	__builtin_memcpy(e->tcomm, p->tcomm, sizeof(e->tcomm));
	bpf_ringbuf_submit(e, 0);
out:
	return recipes_thread_drop(&pending);
}

/* the tracepoint's si_code: SEND_SIG_NOINFO (0) is SI_USER, SEND_SIG_PRIV (1) SI_KERNEL */
static __always_inline __s32 si_code_of(struct kernel_siginfo *info)
{
	if (info == (void *)0)
		return 0;       /* SI_USER */
	if (info == (void *)1)
		return 0x80;    /* SI_KERNEL */
	return BPF_CORE_READ(info, si_code);
}

/* raw: the target task itself, whose ids the tool's PID namespace may see differently from the kernel's */
SEC("raw_tp/signal_generate")
int BPF_PROG(killsnoop_generate, int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
{
	__u64 id = recipes_current_ids();
	__u64 tids = recipes_task_ids(task); /* the target, as the tool's PID namespace sees it (0: not at all) */
	struct event *e;

	if (!cfg_all) {
		/* inside one of our syscalls: note the target */
		struct pending *p = recipes_thread_get(&pending);

		if (p && !p->tcomm[0]) {
			BPF_CORE_READ_STR_INTO(&p->tcomm, task, comm);
			if (p->source == KS_PIDFD_SEND_SIGNAL) {
				p->tpid = (__u32)tids;
			} else if (cfg_pidns_ino && p->tpid > 0) {
				/* the syscall's numbers are the sender's: a sender in a nested namespace names
				 * its target in its own; the task says what the tool's namespace calls it */
				p->tpid = (p->source == KS_TGKILL || p->source == KS_RT_TGSIGQUEUEINFO) ? tids >> 32 : (__u32)tids;
				if (p->ttid)
					p->ttid = (__u32)tids;
			}
		}
		return 0;
	}
	if (!sig_wanted(sig) || !recipes_ids_allowed(id))
		return 0;
	if (cfg_tpid && (__u32)tids != cfg_tpid)
		return 0;
	if (cfg_failed && result == 0)
		return 0;
	if (cfg_metrics)
		count_metric(sig, result, 1);
	e = cfg_events ? RESERVE_EVENT(struct event) : NULL;
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	RECIPES_EVENT_TASK(e, id);
	e->tpid = (__u32)tids;
	e->ttid = (__u32)tids;
	e->sig = sig;
	e->ret = result;
	e->code = si_code_of(info);
	e->source = KS_GENERATE;
	e->pidfd = -1;
	BPF_CORE_READ_STR_INTO(&e->tcomm, task, comm);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* the six signal-sending syscalls: (target pid, target tid, signal) of each, and what it is */
RECIPES_SYS_ENTER(killsnoop, kill) { return enter(ctx->args[0], 0, ctx->args[1], KS_KILL, -1); }
RECIPES_SYS_ENTER(killsnoop, tkill) { return enter(ctx->args[0], ctx->args[0], ctx->args[1], KS_TKILL, -1); }
RECIPES_SYS_ENTER(killsnoop, tgkill) { return enter(ctx->args[0], ctx->args[1], ctx->args[2], KS_TGKILL, -1); }
RECIPES_SYS_ENTER(killsnoop, rt_sigqueueinfo) { return enter(ctx->args[0], 0, ctx->args[1], KS_RT_SIGQUEUEINFO, -1); }
RECIPES_SYS_ENTER(killsnoop, rt_tgsigqueueinfo) { return enter(ctx->args[0], ctx->args[1], ctx->args[2], KS_RT_TGSIGQUEUEINFO, -1); }
/* pidfd_send_signal(pidfd, sig, info, flags): the target's pid comes from signal_generate */
RECIPES_SYS_ENTER(killsnoop, pidfd_send_signal) { return enter(0, 0, ctx->args[1], KS_PIDFD_SEND_SIGNAL, ctx->args[0]); }

RECIPES_SYS_EXIT(killsnoop, kill) { return leave(ctx->ret); }
RECIPES_SYS_EXIT(killsnoop, tkill) { return leave(ctx->ret); }
RECIPES_SYS_EXIT(killsnoop, tgkill) { return leave(ctx->ret); }
RECIPES_SYS_EXIT(killsnoop, rt_sigqueueinfo) { return leave(ctx->ret); }
RECIPES_SYS_EXIT(killsnoop, rt_tgsigqueueinfo) { return leave(ctx->ret); }
RECIPES_SYS_EXIT(killsnoop, pidfd_send_signal) { return leave(ctx->ret); }

char LICENSE[] SEC("license") = "GPL";
