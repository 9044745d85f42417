// SPDX-License-Identifier: GPL-2.0
/*
 * offcputime: time blocked, by stack, summed in the kernel.
 *
 * At sched_switch the task switched out is the current one: if the filters and --state take it,
 * its kernel and user stacks go into a stack-trace map and (when, stacks) into `starts`, keyed by
 * its TID. When a task is switched in and `starts` holds it, the time it was off CPU is added, if
 * within -m/-M, to `counts` under (process, kernel stack, user stack). User space names the stacks.
 *
 * One BTF tracepoint (tp_btf/sched_switch, 5.5+): every kernel these tools load on has it (their
 * objects need the ring buffer of 5.8), so there is no classic-tracepoint variant.
 */
#include "vmlinux.h"
#include "recipes.h"
#include "offcputime.h"
#include "recipes_stacks.h"

_Static_assert(OFFCPU_NO_STACK == RECIPES_NO_STACK && OFFCPU_MISSED_STACK == RECIPES_MISSED_STACK,
	       "the stack ids of recipes_stacks.h");

/* the kernel's task states (include/linux/sched.h) */
#define TASK_INTERRUPTIBLE 0x0001
#define TASK_UNINTERRUPTIBLE 0x0002
#define __TASK_STOPPED 0x0004
#define __TASK_TRACED 0x0008
#define TASK_NOLOAD 0x0400

const volatile bool cfg_kernel = true;                  /* capture kernel stacks */
const volatile bool cfg_user = true;                    /* capture user stacks */
const volatile __u32 cfg_state_mask = OFFCPU_STATE_ALL; /* states a block may start in */
const volatile __s64 cfg_state_raw = -1;                /* or exactly this task state (-1: not used) */
const volatile __u64 cfg_min_ns = 1000;                 /* -m */
const volatile __u64 cfg_max_ns = ~0ULL;                /* -M */

RECIPES_STACK_MAP(stacks, OFFCPU_MAX_DEPTH);
RECIPES_MAP(counts, HASH, OFFCPU_COUNTS_MIN, struct offcpu_key, struct offcpu_val);
RECIPES_MAP(starts, HASH, OFFCPU_STARTS, __u32, struct offcpu_start); /* by the kernel's TID */

RECIPES_MISSED(OFFCPU_MISSED_NR); /* indexed by enum offcputime_missed */

RECIPES_EXPORT(offcpu_key);
RECIPES_EXPORT(offcpu_val);
RECIPES_EXPORT(offcpu_start);
RECIPES_EXPORT_ENUM(offcputime_missed);

/* before 5.14 the field was `state` */
struct task_struct___pre514 {
	volatile long state;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}

static __always_inline __u32 state_class(__u32 st)
{
	if (st == 0)
		return OFFCPU_STATE_RUNNING;
	if ((st & (TASK_UNINTERRUPTIBLE | TASK_NOLOAD)) == (TASK_UNINTERRUPTIBLE | TASK_NOLOAD))
		return OFFCPU_STATE_IDLE;
	if (st & TASK_UNINTERRUPTIBLE)
		return OFFCPU_STATE_DISK;
	if (st & TASK_INTERRUPTIBLE)
		return OFFCPU_STATE_SLEEPING;
	if (st & (__TASK_STOPPED | __TASK_TRACED))
		return OFFCPU_STATE_STOPPED;
	return OFFCPU_STATE_OTHER;
}

/* prev (the current task) leaves the CPU: note when, and its stacks */
static __always_inline void switched_out(void *ctx, bool preempt, struct task_struct *prev)
{
	struct offcpu_start s = {};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 st, class;
	__u64 id;
	int r;

	if (tid == 0) /* the idle task */
		return;
	st = task_state(prev);
	class = preempt ? OFFCPU_STATE_RUNNING : state_class(st);
	if (!(cfg_state_mask & class) && !(cfg_state_raw >= 0 && st == (__u64)cfg_state_raw))
		return;
	if (BPF_CORE_READ(prev, exit_state)) /* a dead task never comes back */
		return;
	id = recipes_current_ids();
	if (!recipes_ids_allowed(id))
		return;
	s.key.pid = id >> 32;
	s.key.kstack = OFFCPU_NO_STACK;
	s.key.ustack = OFFCPU_NO_STACK;
	/* the user stack from the registers saved when it entered the kernel (none: a kernel thread) */
	recipes_key_stacks(ctx, &stacks, cfg_kernel, cfg_user, &s.key.kstack, &s.key.ustack, &missed, OFFCPU_MISSED_KERNEL,
			   OFFCPU_MISSED_USER);
	bpf_get_current_comm(s.comm, sizeof(s.comm));
	s.ts_ns = bpf_ktime_get_ns();
	r = recipes_map_err(bpf_map_update_elem(&starts, &tid, &s, BPF_NOEXIST));
	if (r == -EEXIST) {
		/* the end of this thread's last block was never seen: say so, then time this one */
		recipes_count_missed(OFFCPU_MISSED_ENDS);
		r = bpf_map_update_elem(&starts, &tid, &s, BPF_ANY);
	}
	if (r)
		recipes_count_missed(OFFCPU_MISSED_STARTS);
}

/* next comes back on a CPU: add the time it was away */
static __always_inline void switched_in(struct task_struct *next)
{
	__u32 tid = BPF_CORE_READ(next, pid);
	struct offcpu_start *s;
	struct offcpu_val *v, init = {};
	__u64 delta;

	s = bpf_map_lookup_elem(&starts, &tid);
	if (!s)
		return;
	delta = bpf_ktime_get_ns() - s->ts_ns;
	if (delta < cfg_min_ns || delta > cfg_max_ns)
		goto done;
	__builtin_memcpy(init.comm, s->comm, sizeof(init.comm));
	v = recipes_lookup_or_init(&counts, &s->key, &init);
	if (v) {
		__sync_fetch_and_add(&v->total_ns, delta);
		__sync_fetch_and_add(&v->blocks, 1);
	} else {
		recipes_count_missed(OFFCPU_MISSED_COUNTS);
	}
done:
	bpf_map_delete_elem(&starts, &tid);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(offcputime_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	switched_out(ctx, preempt, prev);
	switched_in(next);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
