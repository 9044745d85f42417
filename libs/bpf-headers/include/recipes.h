/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every bpf-recipes BPF program shares:
 *   - one-line map declarations (RECIPES_MAP(), RECIPES_SCRATCH()), per-thread state between an
 *     entry and its exit (recipes_thread_get/put/drop()), syscall tracepoint programs
 *     (RECIPES_SYS_ENTER/EXIT()) and uprobe call records (recipes_ucall_*);
 *   - for an object that reports events, the event ring buffer `events` and the per-CPU counter
 *     `lost_events` beside it (user space resizes the ring before load and reports every lost
 *     event), declared by RECIPES_EVENTS(size) — see "Events" below;
 *   - the common filters of the CLI (--pid, --tid, --uid, --name, --cgroup), set as
 *     read-only config before load so that unwanted events never cross into user space;
 *   - the ids of tasks as the tool's own PID namespace sees them (recipes_current_ids(),
 *     recipes_task_ids()): inside a container, PIDs printed and filtered are the container's;
 *   - RECIPES_EXPORT(), which keeps a struct in the object's BTF so that the TypeScript
 *     decoder can be generated from it;
 *   - how a count is kept in a map without losing one (recipes_lookup_or_init(), atomic adds,
 *     RECIPES_MISSED()) — see "Counting in maps" below.
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
/* The same for `enum NAME`, whose values codegen then emits (when the tool's header declares it):
 * an enum reaches BTF only when something in the object has its type. */
#define RECIPES_EXPORT_ENUM(NAME) \
	enum NAME *__recipes_export_enum_##NAME __attribute__((unused, section(".export")))

/* Common filters (see libs/cli: they are filled from the common options). */
const volatile __u32 cfg_pids[RECIPES_MAX_PIDS] = {};
const volatile __u32 cfg_npids = 0;
const volatile __u32 cfg_tid = 0;
const volatile bool cfg_filter_uid = false;
const volatile __u32 cfg_uid = 0;
const volatile char cfg_comm[TASK_COMM_LEN] = {};
const volatile __u32 cfg_comm_len = 0;
const volatile __u64 cfg_cgroup_id = 0;
/* depth of that cgroup below the hierarchy's real root; RECIPES_CGROUP_LEVEL_UNKNOWN inside a
 * cgroup namespace, whose root hides its depth: then cfg_cgroup_level is only the least it can be */
const volatile __u32 cfg_cgroup_level = 0;
const volatile bool cfg_cgroup_level_unknown = false;
/* the tool's own process: never traced (its attach-time reads of tracefs are not the user's);
 * its PID as the tool's namespace sees it */
const volatile __u32 cfg_self_tgid = 0;
/* The tool's PID namespace (device and inode of /proc/self/ns/pid), set by libs/cli when it is not
 * the initial one. 0: the initial namespace, whose ids are the kernel's own. */
const volatile __u64 cfg_pidns_dev = 0;
const volatile __u64 cfg_pidns_ino = 0;

/* `TOOL -- COMMAND` (recipes_traced.h): only the command and what it starts, set by libs/cli. */
const volatile bool cfg_traced_only = false;

/*
 * Map declarations, one line each: libbpf's BTF-defined map `struct { ... } NAME SEC(".maps")`.
 *   RECIPES_MAP(NAME, TYPE, ENTRIES, KEY, VALUE): the BPF_MAP_TYPE_<TYPE> map NAME;
 *   RECIPES_MAP_FLAGS(NAME, TYPE, ENTRIES, KEY, VALUE, FLAGS): the same with map_flags;
 *   RECIPES_SCRATCH(NAME, VALUE): one VALUE per CPU (a per-CPU array of one entry, key 0), where
 *     a record too large for the BPF stack is built.
 */
#define RECIPES_MAP(NAME, TYPE, ENTRIES, KEY, VALUE)                                    \
	struct {                                                                        \
		__uint(type, BPF_MAP_TYPE_##TYPE);                                      \
		__uint(max_entries, ENTRIES);                                           \
		__type(key, KEY);                                                       \
		__type(value, VALUE);                                                   \
	} NAME SEC(".maps")
#define RECIPES_MAP_FLAGS(NAME, TYPE, ENTRIES, KEY, VALUE, FLAGS)                       \
	struct {                                                                        \
		__uint(type, BPF_MAP_TYPE_##TYPE);                                      \
		__uint(max_entries, ENTRIES);                                           \
		__uint(map_flags, FLAGS);                                               \
		__type(key, KEY);                                                       \
		__type(value, VALUE);                                                   \
	} NAME SEC(".maps")
#define RECIPES_SCRATCH(NAME, VALUE) RECIPES_MAP(NAME, PERCPU_ARRAY, 1, __u32, VALUE)

/* This CPU's VALUE of the RECIPES_SCRATCH() map `scratch` (NULL only to please the verifier). */
static __always_inline void *recipes_scratch(void *scratch)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(scratch, &zero);
}

/*
 * Per-thread state between two probes (a syscall's entry and exit, a call's entry and return), in a
 * hash keyed by the kernel's TID (never reused while the thread lives, whatever namespace the tool
 * is in): this thread's value, storing it, dropping it. The two last return 0, a program's result.
 */
static __always_inline void *recipes_thread_get(void *map)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	return bpf_map_lookup_elem(map, &tid);
}

static __always_inline int recipes_thread_put(void *map, const void *value)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_update_elem(map, &tid, value, BPF_ANY);
	return 0;
}

static __always_inline int recipes_thread_drop(void *map)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(map, &tid);
	return 0;
}

/*
 * The head of a program on the syscalls:sys_enter_CALL (sys_exit_CALL) tracepoint, named
 * PREFIX_enter_CALL (PREFIX_exit_CALL): its `ctx` holds the arguments, ctx->args[] (the result, ctx->ret).
 */
#define RECIPES_SYS_ENTER(PREFIX, CALL) \
	SEC("tracepoint/syscalls/sys_enter_" #CALL) int PREFIX##_enter_##CALL(struct trace_event_raw_sys_enter *ctx)
#define RECIPES_SYS_EXIT(PREFIX, CALL) \
	SEC("tracepoint/syscalls/sys_exit_" #CALL) int PREFIX##_exit_##CALL(struct trace_event_raw_sys_exit *ctx)

#define RECIPES_MAX_CGROUP_DEPTH 32
#define RECIPES_MAX_PIDNS_LEVEL 32 /* the kernel's MAX_PID_NS_LEVEL */

/*
 * Counting in maps. Two rules keep every count:
 *   - Add with __sync_fetch_and_add() (an atomic add), also to a per-CPU value: two CPUs may
 *     update one shared value at once, and a program may be preempted mid-update by another run
 *     of a program on the same CPU (a uprobe's program runs with only migration disabled; the
 *     syscall tracepoints are faultable on recent kernels), so a plain `+=` there can lose the
 *     other's add. Uncontended, on a CPU's own slot, it costs little and needs no proof that
 *     nothing else runs there meanwhile.
 *   - A key that may be new is found or made with recipes_lookup_or_init() (or
 *     RECIPES_LOOKUP_OR_ZERO()), which never loses the call that makes it: when another CPU
 *     inserts the same key first, the insert fails with -EEXIST and the value that one made is
 *     used. (Inserting the first count itself and doing nothing on -EEXIST loses that call.)
 * What is left uncounted (a map full) is counted in `missed` (RECIPES_MISSED()) and reported.
 */
#ifndef EEXIST
#define EEXIST 17
#endif

/*
 * A map update's or delete's result as the int it is. Before Linux 6.4 the maps' update and delete
 * operations returned int, and the verifier turns the helper call into a direct call of the
 * operation, so on those kernels (Debian 12's 6.1) a negative error reaches the program with its
 * upper 32 bits clear: -EEXIST arrives as 0xffffffef, and `r == -EEXIST` on the long is never true.
 * Compare errors through this.
 */
static __always_inline int recipes_map_err(long r)
{
	return (int)r;
}

/*
 * The value of `key` in the hash `map`, not found there a moment ago: inserted as `init` (its value
 * for this CPU in a per-CPU hash; the other CPUs' start at zero) — by this call, or by another CPU
 * that inserted the same key meanwhile, whose value is then this one too. Add this call's count
 * to it afterwards: `init` holds no count (zeros), only what a new key starts with (a comm). NULL
 * when the map is full.
 */
static __always_inline void *recipes_init_lookup(void *map, const void *key, const void *init)
{
	int r = recipes_map_err(bpf_map_update_elem(map, key, init, BPF_NOEXIST));

	if (r && r != -EEXIST)
		return NULL; /* full (-E2BIG), or no memory */
	return bpf_map_lookup_elem(map, key); /* ours, or the one another CPU made first */
}

/* The value of `key` in the hash `map`: found, or inserted as `init` (recipes_init_lookup()). */
static __always_inline void *recipes_lookup_or_init(void *map, const void *key, const void *init)
{
	void *v = bpf_map_lookup_elem(map, key);

	return v ? v : recipes_init_lookup(map, key, init);
}

/*
 * Zeros to insert new keys from, RECIPES_ZERO_BYTES of them: one entry no program may write
 * (BPF_F_RDONLY_PROG), shared by every RECIPES_LOOKUP_OR_ZERO() of an object. Zeros made on the
 * stack instead would cost the value's size in stack at every call site — and the verifier caps a
 * call chain's stack at 512 bytes (with the user-stack walk under a program, a histogram's zeros
 * no longer fit on 6.1) — and a memset at every new key.
 */
#ifndef RECIPES_ZERO_BYTES
#define RECIPES_ZERO_BYTES 1024
#endif
RECIPES_MAP_FLAGS(recipes_zero, ARRAY, 1, __u32, char[RECIPES_ZERO_BYTES], BPF_F_RDONLY_PROG);

/* The value of `key` in the hash `map`, of type TYPE, inserted as zeros when new
 * (recipes_init_lookup() from recipes_zero); NULL when the map is full. */
#define RECIPES_LOOKUP_OR_ZERO(MAP, KEY, TYPE)                                          \
	({                                                                              \
		_Static_assert(sizeof(TYPE) <= RECIPES_ZERO_BYTES,                      \
			       "a value larger than recipes_zero: raise RECIPES_ZERO_BYTES"); \
		TYPE *__v = bpf_map_lookup_elem(MAP, KEY);                              \
		if (!__v) {                                                             \
			__u32 __zk = 0;                                                 \
			const void *__z = bpf_map_lookup_elem(&recipes_zero, &__zk);    \
			if (__z)                                                        \
				__v = recipes_init_lookup(MAP, KEY, __z);               \
		}                                                                       \
		__v;                                                                    \
	})

/* One more of `key` in the hash `counts` of __u64 counts (per-CPU or not); false when the map is full. */
static __always_inline bool recipes_count_key(void *counts, const void *key)
{
	__u64 *n = RECIPES_LOOKUP_OR_ZERO(counts, key, __u64);

	if (!n)
		return false;
	__sync_fetch_and_add(n, 1);
	return true;
}

/* One more in the __u64 counter `which` of an array `counters` (per-CPU or not). */
static __always_inline void recipes_count_in(void *counters, __u32 which)
{
	__u64 *n = bpf_map_lookup_elem(counters, &which);

	if (n)
		__sync_fetch_and_add(n, 1);
}

/*
 * RECIPES_MISSED(N): the per-CPU array `missed` of N counters of what could not be recorded (a
 * stack not stored, a full map), indexed by an enum of the tool's header, and
 * recipes_count_missed(which). User space sums the CPUs and reports them.
 */
#define RECIPES_MISSED(N)                                                               \
	RECIPES_MAP(missed, PERCPU_ARRAY, N, __u32, __u64);                             \
	static __always_inline void recipes_count_missed(__u32 which)                   \
	{                                                                               \
		recipes_count_in(&missed, which);                                       \
	}                                                                               \
	struct __recipes_missed_declared /* so the macro ends with a ';' */

/*
 * Events. An object declares the maps it uses: one that reports events says so with
 * RECIPES_EVENTS(size) after including this header — the ring buffer `events` (size bytes, a power
 * of two; user space resizes it with --buffer-size), the per-CPU counter `lost_events`, and
 * RESERVE_EVENT()/recipes_reserve()/recipes_output(), which count a full ring instead of losing an
 * event silently. An object without events (counts kept in maps) leaves it out and carries no ring.
 */
#define RECIPES_EVENTS(SIZE)                                                            \
	struct {                                                                        \
		__uint(type, BPF_MAP_TYPE_RINGBUF);                                     \
		__uint(max_entries, SIZE); /* resized by user space with --buffer-size */ \
	} events SEC(".maps");                                                          \
	RECIPES_SCRATCH(lost_events, __u64);                                            \
	static __always_inline void recipes_count_lost(void)                            \
	{                                                                               \
		recipes_count_in(&lost_events, 0);                                      \
	}                                                                               \
	/* Reserve an event in the ring buffer; a full ring is counted, never silent. */ \
	static __always_inline void *recipes_reserve(__u64 size)                        \
	{                                                                               \
		void *e = bpf_ringbuf_reserve(&events, size, 0);                        \
		if (!e)                                                                 \
			recipes_count_lost();                                           \
		return e;                                                               \
	}                                                                               \
	/* Copy a variable-length record (built in a per-CPU scratch buffer) into the ring. */ \
	static __always_inline void recipes_output(void *data, __u64 size)              \
	{                                                                               \
		if (bpf_ringbuf_output(&events, data, size, 0))                         \
			recipes_count_lost();                                           \
	}                                                                               \
	struct __recipes_events_declared /* so the macro ends with a ';' */

#define RESERVE_EVENT(TYPE) ((TYPE *)recipes_reserve(sizeof(TYPE)))

/*
 * The config of an event tool that also counts for --metrics and the exporter (libs/metrics):
 * cfg_metrics, count in the tool's metric maps; cfg_events, false in the exporter (counts only, no
 * event sent: `e = cfg_events ? RESERVE_EVENT(...) : NULL`). Declared among the tool's own config,
 * where their place in .rodata is.
 */
#define RECIPES_METRICS_CONFIG()                                                        \
	const volatile bool cfg_metrics = false;                                        \
	const volatile bool cfg_events = true

/* An event's pid and tid (IDS: recipes_current_ids(), the ids the tool's PID namespace sees), uid
 * and comm: the current task's. */
#define RECIPES_EVENT_TASK(E, IDS)                                                      \
	({                                                                              \
		__u64 __ids = (IDS);                                                    \
		(E)->pid = __ids >> 32;                                                 \
		(E)->tid = (__u32)__ids;                                                \
		(E)->uid = (__u32)bpf_get_current_uid_gid();                            \
		bpf_get_current_comm((E)->comm, sizeof((E)->comm));                     \
	})

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

/*
 * PID namespaces. In the initial namespace (cfg_pidns_ino == 0, the host) the plain helpers are
 * used and the code below is pruned by the verifier. Inside a container, a task's ids are its
 * numbers in the tool's namespace, and a task that namespace cannot see (the host's, another
 * container's) has none: its ids are 0 and recipes_task_allowed() drops it. Map keys that only
 * pair an entry with its exit (per-thread state) keep the kernel's global TID.
 */

/* The number of `pid` (a struct pid) in the tool's namespace; 0 when it has none there. */
static __always_inline __u32 recipes_pid_nr(struct pid *pid)
{
	unsigned int level;

	if (!pid)
		return 0;
	if (!cfg_pidns_ino)
		return BPF_CORE_READ(pid, numbers[0].nr);
	level = BPF_CORE_READ(pid, level);
	/* numbers[i] is the pid in the namespace at depth i on the way down to the task's own */
	for (__u32 i = 0; i < RECIPES_MAX_PIDNS_LEVEL; i++) {
		struct upid *up;

		if (i > level)
			break;
		up = (struct upid *)((void *)pid + bpf_core_field_offset(struct pid, numbers) +
				     i * bpf_core_type_size(struct upid));
		if (BPF_CORE_READ(up, ns, ns.inum) == cfg_pidns_ino)
			return BPF_CORE_READ(up, nr);
	}
	return 0;
}

/* A task's (tgid << 32 | tid) in the tool's PID namespace; 0 when it is not visible there. */
static __always_inline __u64 recipes_task_ids(struct task_struct *task)
{
	__u32 tid, tgid;

	if (!task)
		return 0;
	if (!cfg_pidns_ino)
		return (__u64)BPF_CORE_READ(task, tgid) << 32 | (__u32)BPF_CORE_READ(task, pid);
	tid = recipes_pid_nr(BPF_CORE_READ(task, thread_pid));
	tgid = recipes_pid_nr(BPF_CORE_READ(task, group_leader, thread_pid));
	if (!tid || !tgid)
		return 0;
	return (__u64)tgid << 32 | tid;
}

/* The current task's (tgid << 32 | tid) as the tool's PID namespace sees them (0: not visible). */
static __always_inline __u64 recipes_current_ids(void)
{
	struct bpf_pidns_info ns = {};

	if (!cfg_pidns_ino)
		return bpf_get_current_pid_tgid();
	/* the usual case, a task of the tool's own namespace: one helper call */
	if (!bpf_get_ns_current_pid_tgid(cfg_pidns_dev, cfg_pidns_ino, &ns, sizeof(ns)))
		return (__u64)ns.tgid << 32 | ns.pid;
	/* a task of a namespace nested in the tool's is visible too; any other is not */
	return recipes_task_ids((struct task_struct *)bpf_get_current_task());
}

/* Is the current task in the --cgroup cgroup or below it? */
static __always_inline bool recipes_cgroup_allowed(void)
{
	if (!cfg_cgroup_id)
		return true;
	if (!cfg_cgroup_level_unknown)
		return bpf_get_current_ancestor_cgroup_id(cfg_cgroup_level) == cfg_cgroup_id;
	/*
	 * Inside a cgroup namespace the directory's depth under the mount is not its depth in the
	 * hierarchy, which bpf_get_current_ancestor_cgroup_id() counts from the real root. Look for
	 * the id among the task's ancestors from the least depth it can have; 0 is past the task's own.
	 */
	for (__u32 i = 0; i < RECIPES_MAX_CGROUP_DEPTH; i++) {
		__u64 a = bpf_get_current_ancestor_cgroup_id(cfg_cgroup_level + i);

		if (a == cfg_cgroup_id)
			return true;
		if (!a)
			break;
	}
	return false;
}

#include "recipes_traced.h"

/* The common filters, applied to the current task. Cheap checks first. `ids` is
 * recipes_current_ids(). */
static __always_inline bool recipes_ids_allowed(__u64 id)
{
	if (cfg_pidns_ino && !id)
		return false; /* outside the tool's PID namespace */
	if (cfg_traced_only && !recipes_is_traced(id >> 32))
		return false;
	if (cfg_self_tgid && (id >> 32) == cfg_self_tgid)
		return false;
	if (cfg_tid && (__u32)id != cfg_tid)
		return false;
	if (!recipes_pid_allowed(id >> 32))
		return false;
	if (cfg_filter_uid && (__u32)bpf_get_current_uid_gid() != cfg_uid)
		return false;
	if (!recipes_cgroup_allowed())
		return false;
	return recipes_comm_allowed();
}

static __always_inline bool recipes_task_allowed(void)
{
	return recipes_ids_allowed(recipes_current_ids());
}

/*
 * recipes_ids_allowed() for a program on sched_process_exec itself: the held command's exec turns
 * it on here too, whichever of this program and recipes_traced_exec the kernel runs first.
 */
static __always_inline bool recipes_exec_ids_allowed(__u64 id)
{
	if (cfg_traced_only)
		recipes_traced_exec_of(id >> 32);
	return recipes_ids_allowed(id);
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

/* The log2 slot of `v` (recipes_log2_slot()) in a histogram of `slots` slots, the last one holding all above. */
static __always_inline __u32 recipes_hist_slot(__u64 v, __u32 slots)
{
	__u32 slot = recipes_log2_slot(v);

	return slot >= slots ? slots - 1 : slot;
}

/*
 * Calls into user-space functions, timed from a uprobe at entry to a uretprobe at return, with a
 * per-thread record between the two. A tool attaches to processes that are already mid-call,
 * threads die mid-call and their TIDs are reused: the record must never outlive its call, or its
 * thread is silenced for good. So a record carries the stack pointer of its call's entry
 * (`sp`, from recipes_ucall_sp()) and
 *   - on entry, an existing record is the caller's (this call is nested in it) only if it was
 *     made higher on the stack; one made at or below this call's frame belongs to a call that
 *     has returned unseen (it entered before the return probe was attached, or left by longjmp):
 *     it is stale, and this call replaces it (recipes_ucall_nested());
 *   - on return, the record is this call's only if the stack pointers match; a return from above
 *     the record's frame means the recorded call is gone (recipes_ucall_return());
 *   - RECIPES_UCALL_CLEANUP(prefix, map) drops a thread's record when the thread exits or execs.
 * User space attaches the return probes (and the cleanup) before the entry probes
 * (libs/cli attachUprobeCalls()), so no call is seen entering without its return being seen.
 */
static __always_inline __u64 recipes_ucall_sp(struct pt_regs *ctx)
{
	return PT_REGS_SP(ctx);
}

/* At a uretprobe: the stack pointer the returning call had at its first instruction. */
static __always_inline __u64 recipes_ucall_ret_sp(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	return PT_REGS_SP(ctx) - 8; /* `ret` popped the return address the call pushed */
#else
	return PT_REGS_SP(ctx);     /* arm64 & co.: the return address was in a register */
#endif
}

/* On entry, with a record made at `outer_sp` held for this thread: is this call nested in it? */
static __always_inline bool recipes_ucall_nested(struct pt_regs *ctx, __u64 outer_sp)
{
	return recipes_ucall_sp(ctx) < outer_sp;
}

enum recipes_ucall_ret {
	RECIPES_UCALL_MINE,   /* the recorded call returns: report it, drop the record */
	RECIPES_UCALL_INNER,  /* a call nested in the recorded one returns: keep the record */
	RECIPES_UCALL_STALE,  /* a call above the recorded one returns: the record is stale, drop it */
};

/* At a uretprobe, with a record made at `rec_sp` held for this thread. */
static __always_inline enum recipes_ucall_ret recipes_ucall_return(struct pt_regs *ctx, __u64 rec_sp)
{
	__u64 sp = recipes_ucall_ret_sp(ctx);

	if (sp == rec_sp)
		return RECIPES_UCALL_MINE;
	return sp < rec_sp ? RECIPES_UCALL_INNER : RECIPES_UCALL_STALE;
}

/*
 * What a call's per-thread record starts with: when and at which stack pointer it entered, and
 * which function it is (the attach cookie of its entry probe).
 */
struct recipes_ucall {
	__u64 ts_ns;
	__u64 sp;
	__u32 func;
	__u32 pad;
};

/* At a uprobe: a new record's head, for the call entering now. */
static __always_inline void recipes_ucall_start(struct pt_regs *ctx, struct recipes_ucall *c)
{
	c->ts_ns = bpf_ktime_get_ns();
	c->sp = recipes_ucall_sp(ctx);
	c->func = bpf_get_attach_cookie(ctx);
	c->pad = 0;
}

/*
 * At a uprobe: the record this thread holds in `calls` (records that start with struct
 * recipes_ucall) when the call entering now is nested in it — that outer call is the one timed —
 * else NULL: this call is to be recorded (recipes_ucall_start(), recipes_thread_put()).
 */
static __always_inline struct recipes_ucall *recipes_ucall_outer(struct pt_regs *ctx, void *calls)
{
	struct recipes_ucall *c = recipes_thread_get(calls);

	return c && recipes_ucall_nested(ctx, c->sp) ? c : NULL;
}

/*
 * At a uretprobe: this thread's record in `calls` when the returning call is the recorded one
 * (report it, then recipes_thread_drop()); NULL when a call nested in it returns (the record is
 * kept) or there is none; a stale record (a call above it returns) is dropped, NULL.
 */
static __always_inline struct recipes_ucall *recipes_ucall_returned(struct pt_regs *ctx, void *calls)
{
	struct recipes_ucall *c = recipes_thread_get(calls);

	if (!c)
		return NULL;
	switch (recipes_ucall_return(ctx, c->sp)) {
	case RECIPES_UCALL_MINE:
		return c;
	case RECIPES_UCALL_STALE:
		recipes_thread_drop(calls);
		return NULL;
	default:
		return NULL;
	}
}

/* Programs PREFIX_thread_exit/_exec that drop a thread's record (in MAP, keyed by __u32 TID)
 * when it exits or execs. */
#define RECIPES_UCALL_CLEANUP(PREFIX, MAP)                                                         \
	SEC("tp/sched/sched_process_exit") int PREFIX##_thread_exit(void *ctx) { return recipes_thread_drop(&MAP); } \
	SEC("tp/sched/sched_process_exec") int PREFIX##_thread_exec(void *ctx) { return recipes_thread_drop(&MAP); }

#endif /* __BPF_RECIPES_H */
