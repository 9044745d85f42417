// SPDX-License-Identifier: GPL-2.0
/*
 * syscount: syscall counts, errors and latency, aggregated in the kernel.
 *
 * Two hook sets on raw_syscalls:sys_enter/sys_exit; user space loads one:
 *   - tp_btf (5.5+): typed arguments, no trace record built — the cheapest hook;
 *   - tracepoint: the classic fallback.
 * Counting happens at sys_exit, one call per fork-like call and rt_sigreturn included
 * (recipes_exit_nr()); the programs, the syscall filter and the start times are recipes_syscalls.h's.
 * The hot path does: filters from read-only config (pruned by the verifier when unused), one
 * per-CPU array slot indexed by syscall number, one LRU per-CPU hash slot per process (unless
 * --no-processes), and only with -L/--hist a start time in task-local storage. Every add is atomic,
 * per-CPU slots included (recipes.h, "Counting in maps").
 */
#include "vmlinux.h"
#include "recipes.h"
#include "recipes_syscalls.h"
#include "recipes_metrics_by.h"
#include "syscount.h"

_Static_assert(SYSCOUNT_MAX_NR == RECIPES_MAX_SYSCALLS, "the syscall bitmap of recipes_syscalls.h");
_Static_assert(__builtin_offsetof(struct proc_stat, total_ns) == __builtin_offsetof(struct sc_stat, total_ns),
	       "a proc_stat starts as an sc_stat: add_call() adds to either");

const volatile bool cfg_latency = false;      /* -L, --hist */
const volatile bool cfg_hist = false;         /* --hist */
const volatile bool cfg_failures = false;     /* -x */
const volatile __s32 cfg_errno = 0;           /* -e: count only this error */
const volatile bool cfg_processes = true;     /* the per-process table */
const volatile __s32 cfg_nr_execve = -1;      /* a process's comm changes on these */
const volatile __s32 cfg_nr_execveat = -1;

RECIPES_MAP(syscalls, PERCPU_ARRAY, SYSCOUNT_MAX_NR, __u32, struct sc_stat); /* by syscall number */
RECIPES_MAP(processes, LRU_PERCPU_HASH, 16384, __u32, struct proc_stat); /* by tgid */
RECIPES_SCRATCH(proc_cache, struct proc_cache); /* the process this CPU counts for now */
RECIPES_MAP(hists, PERCPU_HASH, 8192, struct hist_key, __u64); /* --hist */
/* --metrics-by: counts per syscall and comm or cgroup (max_entries 1 without it) */
RECIPES_MAP(syscalls_by, PERCPU_HASH, 16384, struct sc_by_key, struct sc_stat);

RECIPES_EXPORT(sc_stat);
RECIPES_EXPORT(proc_stat);
RECIPES_EXPORT(proc_cache);
RECIPES_EXPORT(hist_key);
RECIPES_EXPORT(sc_by_key);

static __always_inline bool wanted(long nr)
{
	return recipes_syscall_wanted(nr) && recipes_task_allowed();
}

/* one call in counts that start with a struct sc_stat (no atomic add of a 0: most calls do not fail,
 * and without -L there is no time) */
static __always_inline void add_call(struct sc_stat *s, bool failed, __u64 lat)
{
	__sync_fetch_and_add(&s->count, 1);
	if (failed)
		__sync_fetch_and_add(&s->errors, 1);
	if (lat)
		__sync_fetch_and_add(&s->total_ns, lat);
}

/*
 * Per-process counts. Most consecutive syscalls on a CPU come from one process, so they are
 * added to a per-CPU slot; the slot is spilled into the per-process hash only when another
 * process shows up on that CPU. User space adds the slots to the hash when it reads.
 */
static __always_inline void account_process(long nr, bool failed, __u64 lat)
{
	__u32 pid = recipes_current_ids() >> 32; /* as the tool's PID namespace sees it */
	struct proc_cache *c = recipes_scratch(&proc_cache);
	struct proc_stat *p;

	if (!c)
		return;
	if (c->pid != pid) {
		if (c->pid && c->stat.count) {
			p = RECIPES_LOOKUP_OR_ZERO(&processes, &c->pid, struct proc_stat);
			if (p) {
				__sync_fetch_and_add(&p->count, c->stat.count);
				__sync_fetch_and_add(&p->errors, c->stat.errors);
				__sync_fetch_and_add(&p->total_ns, c->stat.total_ns);
				p->comm_ns = c->stat.comm_ns;
				__builtin_memcpy(p->comm, c->stat.comm, sizeof(p->comm));
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
	add_call((struct sc_stat *)&c->stat, failed, lat);
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
	if (s)
		add_call(s, failed, lat);
	if (cfg_metrics_by) {
		struct sc_by_key bk = { .nr = key };

		recipes_metrics_by(bk.by);
		s = RECIPES_LOOKUP_OR_ZERO(&syscalls_by, &bk, struct sc_stat);
		if (s)
			add_call(s, failed, lat);
	}
	if (cfg_processes)
		account_process(nr, failed, lat);
	if (cfg_hist) {
		struct hist_key hk = { .nr = key, .slot = recipes_hist_slot(lat / 1000, SYSCOUNT_HIST_SLOTS) };

		recipes_count_key(&hists, &hk);
	}
}

/* at entry: time this call (-L, --hist)? */
static __always_inline bool timed_enter(long nr)
{
	return cfg_latency && wanted(nr);
}

/* at exit (nr already passed the --syscall filter) */
static __always_inline void counted_exit(void *ctx, long nr, long ret, __u64 *start)
{
	if (recipes_task_allowed())
		account(nr, ret, start);
}

RECIPES_SYSCALL_PROGS(syscount, cfg_latency, timed_enter, counted_exit)

char LICENSE[] SEC("license") = "GPL";
