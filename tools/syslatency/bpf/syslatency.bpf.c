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
 */
#include "vmlinux.h"
#include "recipes.h"
#include "recipes_syscalls.h"
#include "syslatency.h"

_Static_assert(SYSLATENCY_MAX_NR == RECIPES_MAX_SYSCALLS, "the syscall bitmap of recipes_syscalls.h");

const volatile __u32 cfg_by = SYSLATENCY_BY_COMM; /* enum syslatency_by */
const volatile __u64 cfg_unit_ns = 1000;          /* the histogram's unit: 1000 (us) or 1000000 (ms) */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, SYSLATENCY_MAX_KEYS);
	__type(key, struct hist_key);
	__type(value, struct hist);
} hists SEC(".maps");

RECIPES_MISSED(1); /* calls not recorded because hists was full */

RECIPES_EXPORT(hist_key);
RECIPES_EXPORT(hist);
RECIPES_EXPORT_ENUM(syslatency_by);

static __always_inline bool on_enter(long nr)
{
	return recipes_syscall_wanted(nr) && recipes_task_allowed();
}

static __always_inline void on_exit(long nr, long ret, __u64 *start)
{
	struct hist_key key = {};
	struct hist *h;
	__u64 lat, slot;

	if (!start || !*start)
		return; /* entered before attach, or not by a task the filters let through */
	lat = bpf_ktime_get_ns() - *start;
	*start = 0;
	slot = recipes_log2_slot(lat / cfg_unit_ns);
	if (slot >= SYSLATENCY_HIST_SLOTS)
		slot = SYSLATENCY_HIST_SLOTS - 1;

	if (cfg_by == SYSLATENCY_BY_COMM) {
		bpf_get_current_comm(key.comm, sizeof(key.comm));
	} else if (cfg_by == SYSLATENCY_BY_SYSCALL) {
		key.id = nr;
	} else {
		__u64 ids = recipes_current_ids();

		key.id = cfg_by == SYSLATENCY_BY_PID ? ids >> 32 : (__u32)ids;
	}
	h = RECIPES_LOOKUP_OR_ZERO(&hists, &key, struct hist);
	if (!h) {
		recipes_count_missed(0);
		return;
	}
	__sync_fetch_and_add(&h->slots[slot & (SYSLATENCY_HIST_SLOTS - 1)], 1);
	__sync_fetch_and_add(&h->total_ns, lat);
	if (cfg_by == SYSLATENCY_BY_PID || cfg_by == SYSLATENCY_BY_TID)
		bpf_get_current_comm(h->comm, sizeof(h->comm));
}

RECIPES_SYSCALL_PROGS(syslatency, true, on_enter, on_exit)

char LICENSE[] SEC("license") = "GPL";
