// SPDX-License-Identifier: GPL-2.0
/*
 * syscount: syscall counts, errors and latency, aggregated in the kernel.
 *
 * Two hook sets on raw_syscalls:sys_enter/sys_exit; user space loads one:
 *   - tp_btf (5.5+): typed arguments, no trace record built — the cheapest hook;
 *   - tracepoint: the classic fallback.
 * Counting happens at sys_exit, one call per fork-like call and rt_sigreturn included (exit_nr).
 * The hot path does: filters from read-only config (pruned by the verifier when unused), one
 * per-CPU array slot indexed by syscall number, one LRU per-CPU hash slot per process (unless
 * --no-processes), and only with -L/--hist a start time in task-local storage.
 */
#include "vmlinux.h"
#include "recipes.h"
#include "syscount.h"

const volatile bool cfg_latency = false;      /* -L, --hist */
const volatile bool cfg_hist = false;         /* --hist */
const volatile bool cfg_failures = false;     /* -x */
const volatile __s32 cfg_errno = 0;           /* -e: count only this error */
const volatile bool cfg_processes = true;     /* the per-process table */
const volatile bool cfg_filter_syscalls = false;
const volatile __s32 cfg_nr_execve = -1;      /* a process's comm changes on these */
const volatile __s32 cfg_nr_execveat = -1;
const volatile __s32 cfg_nr_clone = -1;       /* fork-like: the child returns from them too */
const volatile __s32 cfg_nr_clone3 = -1;
const volatile __s32 cfg_nr_fork = -1;
const volatile __s32 cfg_nr_vfork = -1;
const volatile __s32 cfg_nr_rt_sigreturn = -1;
const volatile __u8 cfg_syscalls[SYSCOUNT_MAX_NR / 8] = {}; /* --syscall: bitmap of numbers */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYSCOUNT_MAX_NR);
	__type(key, __u32);
	__type(value, struct sc_stat);
} syscalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct proc_stat);
} processes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct proc_cache);
} proc_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct hist_key);
	__type(value, __u64);
} hists SEC(".maps");

/* start times: task-local storage for tp_btf, a hash for the classic tracepoints */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} start_task SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start_tid SEC(".maps");

RECIPES_EXPORT(sc_stat);
RECIPES_EXPORT(proc_stat);
RECIPES_EXPORT(proc_cache);
RECIPES_EXPORT(hist_key);

static __always_inline bool syscall_wanted(long nr)
{
	if (nr < 0 || nr >= SYSCOUNT_MAX_NR)
		return false;
	if (cfg_filter_syscalls && !(cfg_syscalls[(nr >> 3) & (SYSCOUNT_MAX_NR / 8 - 1)] & (1 << (nr & 7))))
		return false;
	return true;
}

static __always_inline bool wanted(long nr)
{
	return syscall_wanted(nr) && recipes_task_allowed();
}

/*
 * Per-process counts. Most consecutive syscalls on a CPU come from one process, so they are
 * added to a per-CPU slot; the slot is spilled into the per-process hash only when another
 * process shows up on that CPU. User space adds the slots to the hash when it reads.
 */
static __always_inline void account_process(long nr, bool failed, __u64 lat)
{
	__u32 zero = 0, pid = recipes_current_ids() >> 32; /* as the tool's PID namespace sees it */
	struct proc_cache *c = bpf_map_lookup_elem(&proc_cache, &zero);
	struct proc_stat *p;

	if (!c)
		return;
	if (c->pid != pid) {
		if (c->pid && c->stat.count) {
			p = bpf_map_lookup_elem(&processes, &c->pid);
			if (p) {
				p->count += c->stat.count;
				p->errors += c->stat.errors;
				p->total_ns += c->stat.total_ns;
				p->comm_ns = c->stat.comm_ns;
				__builtin_memcpy(p->comm, c->stat.comm, sizeof(p->comm));
			} else {
				bpf_map_update_elem(&processes, &c->pid, &c->stat, BPF_ANY);
			}
		}
		c->pid = pid;
		c->stat.count = 0;
		c->stat.errors = 0;
		c->stat.total_ns = 0;
		c->stat.comm_ns = bpf_ktime_get_ns();
		bpf_get_current_comm(c->stat.comm, sizeof(c->stat.comm));
	} else if ((!failed && (nr == cfg_nr_execve || nr == cfg_nr_execveat)) || (c->stat.count & 1023) == 1023) {
		/* the new program's name after exec; and every 1024 calls, a name set since
		 * (prctl(PR_SET_NAME), a write to /proc/self/comm) for a process that keeps the CPU */
		c->stat.comm_ns = bpf_ktime_get_ns();
		bpf_get_current_comm(c->stat.comm, sizeof(c->stat.comm));
	}
	c->stat.count++;
	c->stat.errors += failed;
	c->stat.total_ns += lat;
}

static __always_inline void account(long nr, long ret, __u64 *start)
{
	__u32 key = nr;
	struct sc_stat *s;
	__u64 lat = 0;
	bool failed = ret < 0;

	if (cfg_failures && !failed)
		return;
	if (cfg_errno && ret != -cfg_errno)
		return;
	if (cfg_latency) {
		if (!start || !*start)
			return; /* entered before we attached */
		lat = bpf_ktime_get_ns() - *start;
		*start = 0;
	}
	s = bpf_map_lookup_elem(&syscalls, &key);
	if (s) {
		s->count++;
		s->errors += failed;
		s->total_ns += lat;
	}
	if (cfg_processes)
		account_process(nr, failed, lat);
	if (cfg_hist) {
		struct hist_key hk = { .nr = key, .slot = recipes_log2_slot(lat / 1000) };
		__u64 one = 1, *n;

		if (hk.slot >= SYSCOUNT_HIST_SLOTS)
			hk.slot = SYSCOUNT_HIST_SLOTS - 1;
		n = bpf_map_lookup_elem(&hists, &hk);
		if (n)
			*n += 1;
		else
			bpf_map_update_elem(&hists, &hk, &one, BPF_NOEXIST);
	}
}

/*
 * The syscall a sys_exit stands for, or -1 when it is no call of its own:
 *  - a fork-like call (clone, clone3, fork, vfork) passes sys_exit twice, in the parent (the
 *    child's id, or an error) and in the new task (0, from ret_from_fork): the zero return is
 *    the same call, not counted again. Only the new task ever sees 0, threads included.
 *  - rt_sigreturn restores the registers of the interrupted code, orig_ax with them (-1 on
 *    x86), so its sys_exit reports syscall number -1 and the restored return value: counted as
 *    rt_sigreturn, with that value (an interrupted call's -EINTR is an error, as strace has it).
 */
static __always_inline long exit_nr(long nr, long ret)
{
	if (nr == -1)
		return cfg_nr_rt_sigreturn;
	if (ret == 0 && (nr == cfg_nr_clone || nr == cfg_nr_clone3 || nr == cfg_nr_fork || nr == cfg_nr_vfork))
		return -1;
	return nr;
}

static __always_inline long regs_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	return ((struct user_pt_regs *)regs)->regs[8];
#else
	return -1;
#endif
}

/* ---- tp_btf ---- */

SEC("tp_btf/sys_enter")
int BPF_PROG(syscount_btf_enter, struct pt_regs *regs, long id)
{
	__u64 *t;

	if (!cfg_latency || !wanted(id))
		return 0;
	t = bpf_task_storage_get(&start_task, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (t)
		*t = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(syscount_btf_exit, struct pt_regs *regs, long ret)
{
	long nr = exit_nr(regs_nr(regs), ret);

	if (!wanted(nr))
		return 0;
	if (cfg_latency)
		account(nr, ret, bpf_task_storage_get(&start_task, bpf_get_current_task_btf(), 0, 0));
	else
		account(nr, ret, NULL);
	return 0;
}

/* ---- classic tracepoints (fallback) ---- */

SEC("tracepoint/raw_syscalls/sys_enter")
int syscount_tp_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid;
	__u64 now;

	if (!cfg_latency || !wanted(ctx->id))
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&start_tid, &tid, &now, BPF_ANY);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int syscount_tp_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	long nr = exit_nr(ctx->id, ctx->ret);

	if (!wanted(nr))
		return 0;
	if (cfg_latency) {
		__u64 *t = bpf_map_lookup_elem(&start_tid, &tid);

		account(nr, ctx->ret, t);
		if (t)
			bpf_map_delete_elem(&start_tid, &tid);
	} else {
		account(nr, ctx->ret, NULL);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
