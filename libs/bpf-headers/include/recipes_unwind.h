/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User stacks walked from call-frame information (.eh_frame, .debug_frame) at sample time, so
 * that code built without frame pointers (Debian's binaries, libc's syscall wrappers, -O2
 * -fomit-frame-pointer) gives whole stacks. Include after recipes.h and recipes_stacks.h.
 *
 * User space (libs/stacks, UserUnwinder) fills three maps before and while the program runs:
 *   - unwind_rows: every mapped file's table, each a sorted run of rows (address → how to find
 *     the CFA, where the caller's frame pointer was saved), built once per file (by build-id) and
 *     shared by every process that maps it;
 *   - unwind_procs: per process (the kernel's tgid), its executable mappings sorted by start,
 *     each with its load bias and its file's run of rows (none: anonymous JIT code, [vdso]);
 * and reads two: unwind_wanted (processes with an address in no known mapping: a new process, a
 * dlopen, an exec — user space reads their maps again) and unwind_stats.
 *
 * recipes_user_stack_id() walks the current task's user stack from its saved user registers
 * (bpf_task_pt_regs: the interrupted ones in a perf_event sample, those of the syscall it blocks
 * in at sched_switch). Each step finds the pc's mapping and row (binary searches), then the CFA
 * (sp or fp + offset), the return address at CFA−8 and the caller's frame pointer. An address no
 * table covers (JIT code, a file without call-frame information) takes the frame-pointer step, so
 * node's --perf-basic-prof frames keep working. The pcs (leaf first, zero-terminated, the layout
 * of a BPF_MAP_TYPE_STACK_TRACE value) go into unwind_stacks under a hash of them, whose id the
 * counts key keeps as it keeps a stack-map id: counting stays in the kernel.
 *
 * A stack that could not be walked to its outermost frame (a frame the rules cannot follow,
 * unreadable stack memory, more than RECIPES_UNWIND_MAX_DEPTH frames) is kept with the frames
 * found and RECIPES_UNWIND_INCOMPLETE after them, and counted in unwind_stats.
 *
 * The register rules are x86_64's; another architecture adds its own (its return-address
 * register, its frame pointer) in recipes_unwind_regs() and the step, the tables stay.
 */
#ifndef __RECIPES_UNWIND_H
#define __RECIPES_UNWIND_H

#define RECIPES_UNWIND_MAX_DEPTH 127  /* frames of a stack (the kernel's perf_event_max_stack default) */
#define RECIPES_UNWIND_MAX_MAPS 256   /* executable mappings of one process */
#define RECIPES_UNWIND_ROWS 1048576   /* rows of all tables: set by user space (--unwind-memory) */
#define RECIPES_UNWIND_PROCS 4096     /* processes with mapping tables */
#define RECIPES_UNWIND_INCOMPLETE 1   /* the pc after the last frame of a stack that could not be completed */

/* CFA kinds of a row (libs/symbols CfaKind) */
#define RECIPES_CFA_NONE 0        /* no call-frame information here: frame-pointer step */
#define RECIPES_CFA_SP 1          /* sp + cfa_off */
#define RECIPES_CFA_FP 2          /* fp + cfa_off */
#define RECIPES_CFA_PLT 3         /* sp + 8 (+ 8 when pc & 15 >= cfa_off) */
#define RECIPES_CFA_END 4         /* outermost frame */
#define RECIPES_CFA_UNSUPPORTED 5 /* a rule this walker does not follow */
/* where the caller's frame pointer is (libs/symbols FpKind) */
#define RECIPES_FP_SAME 0
#define RECIPES_FP_AT 1
#define RECIPES_FP_UNKNOWN 2

/* the indexes of unwind_stats */
#define RECIPES_UNWIND_STAT_COMPLETE 0   /* stacks walked to their outermost frame */
#define RECIPES_UNWIND_STAT_INCOMPLETE 1 /* stacks cut short (kept, marked, counted) */
#define RECIPES_UNWIND_STAT_FP_FRAMES 2  /* frames taken by the frame-pointer step (no table) */
#define RECIPES_UNWIND_STAT_UNKNOWN 3    /* stacks of processes without mapping tables yet (frame-pointer walk) */
#define RECIPES_UNWIND_STAT_NR 4

struct recipes_unwind_row {
	__u32 pc;       /* first address of the row, as its file's virtual addresses count */
	__s32 cfa_off;
	__u8 cfa;       /* RECIPES_CFA_* */
	__u8 fp;        /* RECIPES_FP_* */
	__s16 fp_off;   /* RECIPES_FP_AT: saved at CFA + fp_off */
};

struct recipes_unwind_mapping {
	__u64 start;    /* [start, end) in the process */
	__u64 end;
	__u64 bias;     /* address − bias = the file's virtual address */
	__u32 first;    /* the file's rows: unwind_rows[first, first + count) */
	__u32 count;    /* 0: no table (frame-pointer step) */
};

struct recipes_unwind_proc {
	__u32 n;
	__u32 pad;
	struct recipes_unwind_mapping maps[RECIPES_UNWIND_MAX_MAPS];
};

struct recipes_unwind_pcs {
	__u64 pc[RECIPES_UNWIND_MAX_DEPTH + 1];
};

const volatile bool cfg_unwind = false; /* walk user stacks from call-frame information (else the kernel's frame-pointer walk) */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RECIPES_UNWIND_ROWS);
	__type(key, __u32);
	__type(value, struct recipes_unwind_row);
} unwind_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RECIPES_UNWIND_PROCS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct recipes_unwind_proc);
} unwind_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* user space sets the tool's --stack-storage-size */
	__type(key, __u32);
	__type(value, __u64[RECIPES_UNWIND_MAX_DEPTH]);
} unwind_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);   /* tgid */
	__type(value, __u64); /* pc found in no mapping */
} unwind_wanted SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RECIPES_UNWIND_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} unwind_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct recipes_unwind_pcs);
} unwind_scratch SEC(".maps");

RECIPES_EXPORT(recipes_unwind_row);
RECIPES_EXPORT(recipes_unwind_mapping);
RECIPES_EXPORT(recipes_unwind_proc);

static __always_inline void recipes_unwind_stat(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&unwind_stats, &which);

	if (n)
		__sync_fetch_and_add(n, 1);
}

struct recipes_unwind_state {
	__u64 pc, sp, fp;
	__u64 hash;
	__u32 tgid;
	__u32 n;
	bool done;       /* the outermost frame was reached */
	bool incomplete; /* cut short */
};

/*
 * The two searches are global functions: the verifier checks each once, on its own, instead of in
 * every state of the walk's loop.
 */

/* the index in process `tgid`'s mappings (sorted, disjoint) of the one holding `pc`; -1: none, -2: no such process */
__noinline int recipes_unwind_find_map(__u32 tgid, __u64 pc)
{
	struct recipes_unwind_proc *p = bpf_map_lookup_elem(&unwind_procs, &tgid);
	__u32 lo = 0, hi, i, mid;

	if (!p)
		return -2;
	hi = p->n;
	if (hi > RECIPES_UNWIND_MAX_MAPS)
		hi = RECIPES_UNWIND_MAX_MAPS;
	for (i = 0; i < 9 && lo < hi; i++) { /* log2(RECIPES_UNWIND_MAX_MAPS) + 1 */
		mid = (lo + hi) / 2;
		if (mid >= RECIPES_UNWIND_MAX_MAPS)
			return -1;
		if (pc < p->maps[mid].start)
			hi = mid;
		else if (pc >= p->maps[mid].end)
			lo = mid + 1;
		else
			return mid;
	}
	return -1;
}

/* the index of the last row of [first, first + count) whose pc <= vaddr; -1: none */
__noinline int recipes_unwind_find_row(__u32 first, __u32 count, __u32 vaddr)
{
	__u32 lo = first, hi = first + count, i, mid;
	int hit = -1;
	struct recipes_unwind_row *r;

	for (i = 0; i < 24 && lo < hi; i++) { /* 2^24 rows a file at most */
		mid = lo + (hi - lo) / 2;
		r = bpf_map_lookup_elem(&unwind_rows, &mid);
		if (!r)
			return -1;
		if (r->pc <= vaddr) {
			hit = mid;
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return hit;
}

static __always_inline bool recipes_unwind_read(__u64 *v, __u64 addr)
{
	return bpf_probe_read_user(v, sizeof(*v), (const void *)addr) == 0;
}

/* one frame: record state->pc, then find the caller's pc, sp and fp */
static long recipes_unwind_step(__u64 index, struct recipes_unwind_state *st)
{
	__u32 zero = 0;
	struct recipes_unwind_pcs *pcs = bpf_map_lookup_elem(&unwind_scratch, &zero);
	struct recipes_unwind_proc *proc;
	struct recipes_unwind_mapping *m = NULL;
	struct recipes_unwind_row *row = NULL;
	__u64 cfa, ra, fp, lookup_pc;
	__u32 n = st->n, at;
	int mi, ri;

	if (!pcs || n >= RECIPES_UNWIND_MAX_DEPTH)
		return 1;
	pcs->pc[n] = st->pc;
	st->n = n + 1;
	st->hash = (st->hash ^ st->pc) * 0x100000001b3ULL;

	/* a return address points after its call: look its rules up at the call itself */
	lookup_pc = n ? st->pc - 1 : st->pc;
	mi = recipes_unwind_find_map(st->tgid, lookup_pc);
	if (mi == -1) {
		/* in none of the process's executable mappings: mapped since user space last read them
		 * (a dlopen, new JIT code: it reads them again), or a walk gone wrong; either way the
		 * stack ends here, cut */
		bpf_map_update_elem(&unwind_wanted, &st->tgid, &st->pc, BPF_ANY);
		goto cut;
	}
	if (mi >= 0) {
		at = mi;
		asm volatile("" : "+r"(at)); /* the compiler must not drop the mask: the verifier needs it */
		at &= RECIPES_UNWIND_MAX_MAPS - 1;
		proc = bpf_map_lookup_elem(&unwind_procs, &st->tgid);
		if (proc)
			m = &proc->maps[at];
	}
	if (m && m->count) {
		__u64 vaddr = lookup_pc - m->bias;

		if (vaddr <= 0xffffffffULL) {
			ri = recipes_unwind_find_row(m->first, m->count, (__u32)vaddr);
			if (ri >= 0) {
				at = ri;
				row = bpf_map_lookup_elem(&unwind_rows, &at);
			}
		}
	}
	if (!row || row->cfa == RECIPES_CFA_NONE) {
		/* no rules here: the frame-pointer step */
		recipes_unwind_stat(RECIPES_UNWIND_STAT_FP_FRAMES);
		if (st->fp == 0) {
			st->done = true; /* the outermost frame's fp is 0 (the ABI's mark) */
			return 1;
		}
		if (!recipes_unwind_read(&fp, st->fp) || !recipes_unwind_read(&ra, st->fp + 8))
			goto cut;
		cfa = st->fp + 16;
	} else {
		switch (row->cfa) {
		case RECIPES_CFA_SP:
			cfa = st->sp + row->cfa_off;
			break;
		case RECIPES_CFA_FP:
			cfa = st->fp + row->cfa_off;
			break;
		case RECIPES_CFA_PLT:
			cfa = st->sp + 8 + ((st->pc & 15) >= (__u64)row->cfa_off ? 8 : 0);
			break;
		case RECIPES_CFA_END:
			st->done = true;
			return 1;
		default:
			goto cut;
		}
		if (!recipes_unwind_read(&ra, cfa - 8))
			goto cut;
		fp = st->fp;
		if (row->fp == RECIPES_FP_AT) {
			if (!recipes_unwind_read(&fp, cfa + row->fp_off))
				goto cut;
		} else if (row->fp == RECIPES_FP_UNKNOWN) {
			fp = 0;
		}
	}
	if (ra == 0) {
		st->done = true;
		return 1;
	}
	if (cfa <= st->sp) /* the stack grows down: a caller's frame is above */
		goto cut;
	st->pc = ra;
	st->sp = cfa;
	st->fp = fp;
	return 0;
cut:
	st->incomplete = true;
	return 1;
}

/*
 * The current task's user stack walked by call-frame information (cfg_unwind), or by the
 * kernel's frame-pointer walk into `stacks` (flags BPF_F_USER_STACK) otherwise: its id in
 * unwind_stacks (or `stacks`), `none` when the task has no user stack (a kernel thread), `missed`
 * when it could not be stored (a hash collision, no room): the caller counts that.
 */
static __always_inline __s32 recipes_user_stack_id(void *ctx, void *stacks, __s32 none, __s32 missed)
{
	struct task_struct *task;
	struct pt_regs *regs;
	struct recipes_unwind_state st = {};
	struct recipes_unwind_pcs *pcs, *old;
	__u32 zero = 0, id, n, i;
	int r;

	if (!cfg_unwind)
		return recipes_stack_id(ctx, stacks, BPF_F_USER_STACK, none, missed);
	task = bpf_get_current_task_btf();
	if (!task || !BPF_CORE_READ(task, mm))
		return none;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return none;
#if defined(__TARGET_ARCH_arm64)
	/* the register reads only: user space keeps cfg_unwind off on arm64 until its rules (the
	 * return address in x30 at the leaf, its CFI register numbers) are added */
	st.pc = BPF_CORE_READ(regs, pc);
	st.sp = BPF_CORE_READ(regs, sp);
	st.fp = BPF_CORE_READ(regs, regs[29]);
#else
	st.pc = BPF_CORE_READ(regs, ip);
	st.sp = BPF_CORE_READ(regs, sp);
	st.fp = BPF_CORE_READ(regs, bp);
#endif
	st.tgid = bpf_get_current_pid_tgid() >> 32;
	st.hash = 0xcbf29ce484222325ULL;
	if (st.pc == 0)
		return none;
	if (!bpf_map_lookup_elem(&unwind_procs, &st.tgid)) {
		/* a process user space has not loaded yet: asked for, walked by frame pointers meanwhile
		 * (the kernel's walk, as --frame-pointers), counted */
		bpf_map_update_elem(&unwind_wanted, &st.tgid, &st.pc, BPF_ANY);
		recipes_unwind_stat(RECIPES_UNWIND_STAT_UNKNOWN);
	}
	bpf_loop(RECIPES_UNWIND_MAX_DEPTH, recipes_unwind_step, &st, 0);
	pcs = bpf_map_lookup_elem(&unwind_scratch, &zero);
	if (!pcs)
		return missed;
	n = st.n;
	if (n == 0)
		return none;
	if (!st.done) {
		/* cut short, or deeper than the walk goes: kept, marked, counted */
		if (n < RECIPES_UNWIND_MAX_DEPTH) {
			pcs->pc[n & RECIPES_UNWIND_MAX_DEPTH] = RECIPES_UNWIND_INCOMPLETE;
			st.hash = (st.hash ^ RECIPES_UNWIND_INCOMPLETE) * 0x100000001b3ULL;
			n++;
		}
		recipes_unwind_stat(RECIPES_UNWIND_STAT_INCOMPLETE);
	} else {
		recipes_unwind_stat(RECIPES_UNWIND_STAT_COMPLETE);
	}
	if (n <= RECIPES_UNWIND_MAX_DEPTH)
		pcs->pc[n & RECIPES_UNWIND_MAX_DEPTH] = 0;
	id = (__u32)(st.hash ^ (st.hash >> 32)) & 0x7fffffff;
	r = recipes_map_err(bpf_map_update_elem(&unwind_stacks, &id, pcs, BPF_NOEXIST));
	if (r == 0)
		return id;
	if (r != -EEXIST)
		return missed;
	/* the id is taken: by this stack (the usual case), or by another one (a collision) */
	old = bpf_map_lookup_elem(&unwind_stacks, &id);
	if (!old)
		return missed;
	for (i = 0; i < RECIPES_UNWIND_MAX_DEPTH; i++) {
		if (old->pc[i] != pcs->pc[i])
			return missed;
		if (pcs->pc[i] == 0)
			break;
	}
	return id;
}

#endif /* __RECIPES_UNWIND_H */
