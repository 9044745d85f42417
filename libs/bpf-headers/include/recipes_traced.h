/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `TOOL -- COMMAND`: trace a command and every process it starts, from its execve to the exit of
 * the last of them. Included by recipes.h; every object carries it, and it costs nothing unless
 * user space turns it on (libs/core traced.ts):
 *   - the map `recipes_traced` holds the traced processes by tgid, as the tool's PID namespace
 *     numbers them (recipes_current_ids()): user space puts the command's process in it as
 *     RECIPES_TRACED_HELD while it waits to exec; its next exec (the command's own execve) makes
 *     it RECIPES_TRACED_ON, so nothing the holding process did before is seen, and everything
 *     from the execve on is (a syscall tool counts the execve at its exit, as strace -c does);
 *   - a process forked by a traced one is traced (recipes_traced_fork, left out by --no-follow),
 *     whoever its parent becomes later (a daemon that outlives its parent stays traced);
 *   - a process leaves the map when its last thread exits (recipes_traced_exit): user space ends
 *     when the map is empty;
 *   - cfg_traced_only makes recipes_ids_allowed() require RECIPES_TRACED_ON: an AND with the other
 *     filters, pruned by the verifier when off. The three programs are not loaded unless asked
 *     for (libbpf's "?" section prefix).
 */
#ifndef __RECIPES_TRACED_H
#define __RECIPES_TRACED_H

#define RECIPES_TRACED_HELD 1
#define RECIPES_TRACED_ON 2

/* one entry unless a command is traced: user space then makes room for 32768 processes */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} recipes_traced SEC(".maps");

/* Is this tgid (the tool's namespace's number) one of the command's, past its execve? */
static __always_inline bool recipes_is_traced(__u32 tgid)
{
	__u32 *state = bpf_map_lookup_elem(&recipes_traced, &tgid);

	return state && *state == RECIPES_TRACED_ON;
}

SEC("?tp_btf/sched_process_fork")
int BPF_PROG(recipes_traced_fork, struct task_struct *parent, struct task_struct *child)
{
	__u64 ids = recipes_task_ids(child);
	__u32 tgid = ids >> 32, on = RECIPES_TRACED_ON;

	if (!ids || tgid != (__u32)ids)
		return 0; /* a thread (its process is traced already or not), or a task outside the namespace */
	if (!recipes_is_traced(recipes_task_ids(parent) >> 32))
		return 0;
	bpf_map_update_elem(&recipes_traced, &tgid, &on, BPF_ANY);
	return 0;
}

/* At an exec of this process: the held command's own exec turns it on. */
static __always_inline void recipes_traced_exec_of(__u32 tgid)
{
	__u32 *state = bpf_map_lookup_elem(&recipes_traced, &tgid);

	if (state && *state == RECIPES_TRACED_HELD)
		*state = RECIPES_TRACED_ON;
}

SEC("?tp_btf/sched_process_exec")
int BPF_PROG(recipes_traced_exec)
{
	recipes_traced_exec_of(recipes_current_ids() >> 32);
	return 0;
}

SEC("?tp_btf/sched_process_exit")
int BPF_PROG(recipes_traced_exit, struct task_struct *task)
{
	__u32 tgid;

	/* the process is gone when its last thread exits (do_exit() counted it out of
	 * signal->live before this tracepoint) */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	tgid = recipes_task_ids(task) >> 32;
	bpf_map_delete_elem(&recipes_traced, &tgid);
	return 0;
}

#endif /* __RECIPES_TRACED_H */
