// SPDX-License-Identifier: GPL-2.0
/*
 * syslatency: log2 histograms of syscall latency, per program name (or process, thread, syscall),
 * aggregated in the kernel.
 *
 * sys_enter stores the time in task-local storage (tp_btf; an LRU hash by TID on the classic
 * tracepoints, see recipes_syscalls.h), sys_exit adds one to the slot of the elapsed time in a
 * per-CPU hash (atomically: see recipes.h, "Counting in maps"). A call counts
 * once (a fork-like call's second return and rt_sigreturn: recipes_exit_nr()); a call entered
 * before attach, or by a task the filters leave out at entry, has no start time and is not counted.
 * No ring buffer: user space reads the histograms.
 *
 * --min: a call shorter than cfg_min_ns is not counted. --by ustack/kstack/stack: the histogram's
 * key is (process, syscall, kernel stack id, user stack id); the stacks are walked at sys_exit,
 * and only for a call that passed --min, so fast calls cost no walk. At sys_exit the task is still
 * in the call: its user registers are those it entered with, so the user stack is the caller's.
 * User stacks are walked from call-frame information (recipes_unwind.h, cfg_unwind), or by frame
 * pointers with --frame-pointers.
 */
#include "vmlinux.h"
#include "recipes.h"
#include "recipes_syscalls.h"
#include "recipes_stacks.h"
#include "syslatency.h"

_Static_assert(SYSLATENCY_MAX_NR == RECIPES_MAX_SYSCALLS, "the syscall bitmap of recipes_syscalls.h");
_Static_assert(SYSLATENCY_NO_STACK == RECIPES_NO_STACK && SYSLATENCY_MISSED_STACK == RECIPES_MISSED_STACK,
	       "the stack ids of recipes_stacks.h");

const volatile __u32 cfg_by = SYSLATENCY_BY_COMM; /* enum syslatency_by */
const volatile __u64 cfg_unit_ns = 1000;          /* the histogram's unit: 1000 (us) or 1000000 (ms) */
const volatile __u64 cfg_min_ns = 0;              /* --min: shorter calls are not counted */

RECIPES_MAP_FLAGS(hists, PERCPU_HASH, SYSLATENCY_MAX_KEYS, struct hist_key, struct hist, BPF_F_NO_PREALLOC);
/* --by ustack/kstack/stack (user space sizes the map that is not used to 1) */
RECIPES_MAP_FLAGS(stack_hists, PERCPU_HASH, SYSLATENCY_STACK_KEYS_MIN, struct stack_key, struct hist, BPF_F_NO_PREALLOC);
RECIPES_STACK_MAP(stacks, SYSLATENCY_MAX_DEPTH);

RECIPES_MISSED(SYSLATENCY_MISSED_NR); /* what could not be recorded (enum syslatency_missed) */

RECIPES_EXPORT(hist_key);
RECIPES_EXPORT(stack_key);
RECIPES_EXPORT(hist);
RECIPES_EXPORT_ENUM(syslatency_by);
RECIPES_EXPORT_ENUM(syslatency_missed);

static __always_inline bool by_stack(void)
{
	return cfg_by == SYSLATENCY_BY_USTACK || cfg_by == SYSLATENCY_BY_KSTACK || cfg_by == SYSLATENCY_BY_STACK;
}

/* The histogram of `key` in `map` (a per-CPU hash of struct hist), inserted zeroed when new. */
static __always_inline struct hist *hist_of(void *map, const void *key)
{
	struct hist *h = RECIPES_LOOKUP_OR_ZERO(map, key, struct hist);

	if (!h)
		recipes_count_missed(SYSLATENCY_MISSED_COUNTS);
	return h;
}

/* --by ustack/kstack/stack: the key of the current call, its stacks walked now */
static __always_inline struct hist *stack_hist(void *ctx, long nr)
{
	struct stack_key key = { .kstack = SYSLATENCY_NO_STACK, .ustack = SYSLATENCY_NO_STACK };

	key.pid = recipes_current_ids() >> 32;
	key.nr = nr;
	recipes_key_stacks(ctx, &stacks, cfg_by != SYSLATENCY_BY_USTACK, cfg_by != SYSLATENCY_BY_KSTACK, &key.kstack,
			   &key.ustack, &missed, SYSLATENCY_MISSED_KERNEL, SYSLATENCY_MISSED_USER);
	return hist_of(&stack_hists, &key);
}

static __always_inline bool on_enter(long nr)
{
	return recipes_syscall_wanted(nr) && recipes_task_allowed();
}

static __always_inline void on_exit(void *ctx, long nr, long ret, __u64 *start)
{
	struct hist_key key = {};
	struct hist *h;
	__u64 lat, slot;

	if (!start || !*start)
		return; /* entered before attach, or not by a task the filters let through */
	lat = bpf_ktime_get_ns() - *start;
	*start = 0;
	if (lat < cfg_min_ns)
		return; /* faster than --min: not counted, no stack walked */
	slot = recipes_hist_slot(lat / cfg_unit_ns, SYSLATENCY_HIST_SLOTS);

	if (by_stack()) {
		h = stack_hist(ctx, nr);
	} else {
		if (cfg_by == SYSLATENCY_BY_COMM) {
			bpf_get_current_comm(key.comm, sizeof(key.comm));
		} else if (cfg_by == SYSLATENCY_BY_SYSCALL) {
			key.id = nr;
		} else {
			__u64 ids = recipes_current_ids();

			key.id = cfg_by == SYSLATENCY_BY_PID ? ids >> 32 : (__u32)ids;
		}
		h = hist_of(&hists, &key);
	}
	if (!h)
		return;
	__sync_fetch_and_add(&h->slots[slot & (SYSLATENCY_HIST_SLOTS - 1)], 1);
	__sync_fetch_and_add(&h->total_ns, lat);
	if (cfg_by != SYSLATENCY_BY_COMM && cfg_by != SYSLATENCY_BY_SYSCALL)
		bpf_get_current_comm(h->comm, sizeof(h->comm));
}

RECIPES_SYSCALL_PROGS(syslatency, true, on_enter, on_exit)

char LICENSE[] SEC("license") = "GPL";
