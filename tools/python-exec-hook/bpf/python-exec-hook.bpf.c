// SPDX-License-Identifier: GPL-2.0
/*
 * python-exec-hook: successful execs whose executable looks like Python.
 * sched:sched_process_exec fires once the new program is in place, so current->mm->exe_file is
 * the binary actually running: for a `#!/usr/bin/python3` script that is the interpreter (after
 * symlinks: python3.11), for a pyenv shim still in bash it is bash. Its name is compared with a
 * prefix here (read-only config); user space applies the full --match regex.
 */
#include "vmlinux.h"
#include "recipes.h"
#include "python-exec-hook.h"

RECIPES_EVENTS(1 << 22);

const volatile char cfg_exe_prefix[16] = {};
const volatile __u32 cfg_exe_prefix_len = 0;
const volatile bool cfg_metrics = false;     /* --metrics: count in execs (the match made whole here) */
const volatile __u32 cfg_exe_tail = PYEXEC_TAIL_ANY; /* enum pyexec_tail */
const volatile bool cfg_events = true;       /* false: the exporter, counts only, no event sent */

/* --metrics: Python processes started (each once, however often it execs), this CPU's count */
RECIPES_SCRATCH(execs, __u64);
/* processes reported by an exec event: their exit is reported too (PIDs are reused) */
RECIPES_MAP(reported, HASH, 65536, __u32, __u8);
RECIPES_SCRATCH(scratch, struct event);

RECIPES_EXPORT(event);
RECIPES_EXPORT_ENUM(pyexec_kind);
RECIPES_EXPORT_ENUM(pyexec_tail);

static __always_inline bool prefix_matches(const char *name)
{
	for (int i = 0; i < 16; i++) {
		if (i >= cfg_exe_prefix_len)
			return true;
		if (name[i] != cfg_exe_prefix[i])
			return false;
	}
	return true;
}

/* Does the rest of the name, after the prefix, pass cfg_exe_tail? */
static __always_inline bool tail_matches(const char *name)
{
	if (cfg_exe_tail == PYEXEC_TAIL_ANY)
		return true;
	for (int i = 0; i < 64; i++) {
		char ch;

		if (i < cfg_exe_prefix_len)
			continue;
		ch = name[i & 63];
		if (ch == 0)
			return true;
		if (cfg_exe_tail == PYEXEC_TAIL_END)
			return false;
		if (!((ch >= '0' && ch <= '9') || ch == '.'))
			return false;
	}
	return true;
}

SEC("tracepoint/sched/sched_process_exec")
int pyexec_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 ids = recipes_current_ids(); /* as the tool's PID namespace sees them */
	__u32 pid = ids >> 32;
	const unsigned char *name;
	struct event *e;
	__u8 one = PYEXEC_REPORTED, *r;

	if (!recipes_exec_ids_allowed(ids))
		return 0;
	e = recipes_scratch(&scratch);
	if (!e)
		return 0;
	name = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name);
	if (bpf_probe_read_kernel_str(e->exe, sizeof(e->exe), name) <= 0)
		return 0;
	if (!prefix_matches(e->exe))
		return 0;
	r = bpf_map_lookup_elem(&reported, &pid);
	if (r)
		one |= *r;
	/* a process counts once: not again when it execs Python again */
	if (cfg_metrics && !(one & PYEXEC_COUNTED) && tail_matches(e->exe)) {
		recipes_count_in(&execs, 0);
		one |= PYEXEC_COUNTED;
	}
	if (!cfg_events) {
		bpf_map_update_elem(&reported, &pid, &one, BPF_ANY);
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = PYEXEC_EXEC;
	e->pid = pid;
	e->ppid = recipes_task_ids(BPF_CORE_READ(task, real_parent)) >> 32; /* 0: a parent outside the namespace */
	e->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + (ctx->__data_loc_filename & 0xffff));
	recipes_output(e, sizeof(*e));
	bpf_map_update_elem(&reported, &pid, &one, BPF_ANY);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int pyexec_exit(void *ctx)
{
	__u64 id = recipes_current_ids();
	__u32 pid = id >> 32;
	struct event *e;

	if (!pid || (__u32)id != pid || !bpf_map_lookup_elem(&reported, &pid))
		return 0; /* a thread, or a process we never reported */
	bpf_map_delete_elem(&reported, &pid);
	e = cfg_events ? RESERVE_EVENT(struct event) : NULL;
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = PYEXEC_EXIT;
	e->pid = pid;
	e->ppid = 0;
	e->uid = 0;
	e->comm[0] = 0;
	e->exe[0] = 0;
	e->filename[0] = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
