/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every bpf-recipes BPF program shares:
 *   - the event ring buffer `events` and the per-CPU counter `lost_events` beside it
 *     (user space resizes the ring before load and reports every lost event);
 *   - the common filters of the CLI (--pid, --tid, --uid, --name, --cgroup), set as
 *     read-only config before load so that unwanted events never cross into user space;
 *   - RECIPES_EXPORT(), which keeps a struct in the object's BTF so that the TypeScript
 *     decoder can be generated from it.
 */
#ifndef __BPF_RECIPES_H
#define __BPF_RECIPES_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#define TASK_COMM_LEN 16
#define RECIPES_MAX_PIDS 16

/* Keep `struct NAME` in BTF (for codegen) without creating a map: the section is
 * ignored by libbpf at load time. */
#define RECIPES_EXPORT(NAME) \
	struct NAME *__recipes_export_##NAME __attribute__((unused, section(".export")))

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* resized by user space with --buffer-size */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

/* Common filters (see libs/cli: they are filled from the common options). */
const volatile __u32 cfg_pids[RECIPES_MAX_PIDS] = {};
const volatile __u32 cfg_npids = 0;
const volatile __u32 cfg_tid = 0;
const volatile bool cfg_filter_uid = false;
const volatile __u32 cfg_uid = 0;
const volatile char cfg_comm[TASK_COMM_LEN] = {};
const volatile __u32 cfg_comm_len = 0;
const volatile __u64 cfg_cgroup_id = 0;
const volatile __u32 cfg_cgroup_level = 0;
/* the tool's own process: never traced (its attach-time reads of tracefs are not the user's) */
const volatile __u32 cfg_self_tgid = 0;

static __always_inline void recipes_count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost_events, &zero);

	if (n)
		*n += 1; /* per-CPU slot: no atomics needed */
}

/* Reserve an event in the ring buffer; a full ring is counted, never silent. */
static __always_inline void *recipes_reserve(__u64 size)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);

	if (!e)
		recipes_count_lost();
	return e;
}

#define RESERVE_EVENT(TYPE) ((TYPE *)recipes_reserve(sizeof(TYPE)))

/* Copy a variable-length record (built in a per-CPU scratch buffer) into the ring. */
static __always_inline void recipes_output(void *data, __u64 size)
{
	if (bpf_ringbuf_output(&events, data, size, 0))
		recipes_count_lost();
}

static __always_inline bool recipes_pid_allowed(__u32 tgid)
{
	if (cfg_npids == 0)
		return true;
	for (int i = 0; i < RECIPES_MAX_PIDS; i++) {
		if (i >= cfg_npids)
			break;
		if (cfg_pids[i] == tgid)
			return true;
	}
	return false;
}

/* Does the current task's comm contain cfg_comm? */
static __always_inline bool recipes_comm_allowed(void)
{
	char comm[TASK_COMM_LEN];
	__u32 n = cfg_comm_len;

	if (n == 0)
		return true;
	bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < TASK_COMM_LEN; i++) {
		bool hit = true;

		if (i + n > TASK_COMM_LEN)
			break;
		for (int j = 0; j < TASK_COMM_LEN; j++) {
			if (j >= n)
				break;
			if (i + j >= TASK_COMM_LEN || comm[(i + j) & (TASK_COMM_LEN - 1)] != cfg_comm[j]) {
				hit = false;
				break;
			}
		}
		if (hit)
			return true;
		if (comm[i] == 0)
			break;
	}
	return false;
}

/* The common filters, applied to the current task. Cheap checks first. */
static __always_inline bool recipes_task_allowed(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (cfg_self_tgid && (id >> 32) == cfg_self_tgid)
		return false;
	if (cfg_tid && (__u32)id != cfg_tid)
		return false;
	if (!recipes_pid_allowed(id >> 32))
		return false;
	if (cfg_filter_uid && (__u32)bpf_get_current_uid_gid() != cfg_uid)
		return false;
	if (cfg_cgroup_id && bpf_get_current_ancestor_cgroup_id(cfg_cgroup_level) != cfg_cgroup_id)
		return false;
	return recipes_comm_allowed();
}

/* log2 slot of a value, as libs/format's log2Hist() reads it: 0 -> 0, 1 -> 1, [2^(k-1), 2^k) -> k. */
static __always_inline __u32 recipes_log2_slot(__u64 v)
{
	__u32 r = 0;

	if (v == 0)
		return 0;
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r + 1;
}

#endif /* __BPF_RECIPES_H */
