/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User stacks walked from call-frame information (.eh_frame, .debug_frame) at sample time, so
 * that code built without frame pointers (Debian's binaries, libc's syscall wrappers, -O2
 * -fomit-frame-pointer) gives whole stacks. Included by recipes_stacks.h.
 *
 * User space (libs/stacks, UserUnwinder) fills three maps before and while the program runs:
 *   - unwind_rows: every mapped file's table, each a sorted run of rows (address → how to find
 *     the CFA, where the caller's frame pointer was saved), built once per file (by build-id) and
 *     shared by every process that maps it;
 *   - unwind_procs: per process (the kernel's tgid), its executable mappings sorted by start,
 *     each with its load bias and its file's run of rows (none: anonymous JIT code, [vdso]);
 *   - unwind_files: each loaded file's run of rows and its executable segments, by the kernel's
 *     device and inode number, so that a mapping user space has not read yet (a process started
 *     a moment ago, a dlopen, an exec: `TOOL -- COMMAND` loads its program's and libraries' files
 *     before the command starts) is walked all the same: the walker asks the kernel for the VMA
 *     of the address (bpf_find_vma) and takes its file's rows. The mappings found so are kept per
 *     process (unwind_found, until its next exec): with interrupts off, as in a perf_event
 *     sample, the kernel answers one such question a sample, so a stack through three files new
 *     to it is whole from the third sample on;
 * and reads three: unwind_wanted (processes with an address in no known mapping: a new process, a
 * dlopen, an exec — user space reads their maps again), unwind_vmas (the mappings found that way,
 * so that the stacks of a process that exited before user space read its maps can still be named)
 * and unwind_stats.
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
 * unreadable stack memory, more than RECIPES_UNWIND_MAX_DEPTH frames, a file whose table did not
 * fit in the rows user space may use: --unwind-memory) is kept with the frames found and
 * RECIPES_UNWIND_INCOMPLETE after them, and counted in unwind_stats. User space evicts the least
 * recently used files' tables when a new one does not fit: each walk marks the files it used in
 * unwind_used, which user space reads and clears every second.
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
#define RECIPES_UNWIND_FILES 4096     /* files with tables, by device and inode */
#define RECIPES_UNWIND_FILE_SEGS 4    /* executable segments of a file */
#define RECIPES_UNWIND_VMAS 8192      /* mappings found through bpf_find_vma */
#define RECIPES_UNWIND_PAGE_SHIFT 12  /* vm_pgoff's unit (x86_64, the one architecture walked so far) */
#define RECIPES_UNWIND_FOUND 16       /* mappings found through bpf_find_vma kept per process */
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
#define RECIPES_UNWIND_STAT_UNKNOWN 3    /* stacks of processes without mapping tables yet with a frame in no known file (frame-pointer step) */
#define RECIPES_UNWIND_STAT_NO_ROOM 4    /* of the incomplete: cut at a file whose table did not fit in --unwind-memory */
#define RECIPES_UNWIND_STAT_NR 5

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
	__u32 count;    /* 0: no table (frame-pointer step, or no room: see file) */
	__u32 file;     /* the file's slot in unwind_used; 0: none (no call-frame information) */
	__u32 pad;
};

struct recipes_unwind_proc {
	__u32 n;
	__u32 pad;
	struct recipes_unwind_mapping maps[RECIPES_UNWIND_MAX_MAPS];
};

/* a file as the kernel knows it: file_inode(vma->vm_file)'s i_sb->s_dev and i_ino */
struct recipes_unwind_file_key {
	__u64 ino;
	__u32 dev;      /* the kernel's dev_t: major << 20 | minor */
	__u32 pad;
};

struct recipes_unwind_file_seg {
	__u64 start;    /* file offsets [start, end) of an executable PT_LOAD segment */
	__u64 end;
	__s64 delta;    /* the file's virtual address of an offset there: offset + delta */
};

struct recipes_unwind_file {
	__u32 first;    /* the file's rows: unwind_rows[first, first + count) */
	__u32 count;
	__u32 n;        /* segments */
	__u32 slot;     /* the file's slot in unwind_used */
	struct recipes_unwind_file_seg segs[RECIPES_UNWIND_FILE_SEGS];
};

struct recipes_unwind_vma_key {
	__u32 tgid;
	__u32 pad;
	__u64 start;
};

struct recipes_unwind_vma {
	__u64 end;
	__u64 pgoff;    /* in pages of 1 << RECIPES_UNWIND_PAGE_SHIFT bytes */
	struct recipes_unwind_file_key file;
};

/* a process's mappings found through bpf_find_vma, since its last exec */
struct recipes_unwind_found {
	__u64 exec_id;  /* the task's self_exec_id when they were found */
	__u32 n;
	__u32 pad;
	struct recipes_unwind_mapping maps[RECIPES_UNWIND_FOUND];
};

struct recipes_unwind_pcs {
	__u64 pc[RECIPES_UNWIND_MAX_DEPTH + 1];
};

const volatile bool cfg_unwind = false; /* walk user stacks from call-frame information (else the kernel's frame-pointer walk) */

RECIPES_MAP(unwind_rows, ARRAY, RECIPES_UNWIND_ROWS, __u32, struct recipes_unwind_row);
RECIPES_MAP_FLAGS(unwind_procs, HASH, RECIPES_UNWIND_PROCS, __u32, struct recipes_unwind_proc, BPF_F_NO_PREALLOC); /* by tgid */
/* user space sets its size: the tool's --stack-storage-size */
RECIPES_MAP(unwind_stacks, HASH, 16384, __u32, __u64[RECIPES_UNWIND_MAX_DEPTH]);
RECIPES_MAP(unwind_wanted, LRU_HASH, 1024, __u32, __u64); /* by tgid: a pc found in no mapping */
RECIPES_MAP_FLAGS(unwind_files, HASH, RECIPES_UNWIND_FILES, struct recipes_unwind_file_key, struct recipes_unwind_file,
		  BPF_F_NO_PREALLOC);
RECIPES_MAP(unwind_vmas, LRU_HASH, RECIPES_UNWIND_VMAS, struct recipes_unwind_vma_key, struct recipes_unwind_vma);
RECIPES_MAP(unwind_found, LRU_HASH, 1024, __u32, struct recipes_unwind_found); /* by tgid */
/* a zeroed recipes_unwind_found, to start a process's entry from (too large for the stack) */
RECIPES_SCRATCH(unwind_found_new, struct recipes_unwind_found);

/*
 * per file slot: set when a walk used the file's table (or found it evicted); user space reads and
 * clears it every second, to evict the least recently used tables first and to load an evicted one
 * again when it is walked through
 */
RECIPES_MAP(unwind_used, ARRAY, RECIPES_UNWIND_FILES, __u32, __u32);
RECIPES_MAP(unwind_stats, PERCPU_ARRAY, RECIPES_UNWIND_STAT_NR, __u32, __u64);
RECIPES_SCRATCH(unwind_scratch, struct recipes_unwind_pcs);

RECIPES_EXPORT(recipes_unwind_row);
RECIPES_EXPORT(recipes_unwind_mapping);
RECIPES_EXPORT(recipes_unwind_proc);
RECIPES_EXPORT(recipes_unwind_file_key);
RECIPES_EXPORT(recipes_unwind_file);
RECIPES_EXPORT(recipes_unwind_vma_key);
RECIPES_EXPORT(recipes_unwind_vma);
RECIPES_EXPORT(recipes_unwind_found);

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
	bool blind;      /* a frame of a process without a mapping table, in no file with a table: the frame-pointer step */
	bool no_room;    /* cut at a file whose table did not fit in --unwind-memory */
};

/*
 * a file's table walked through (or found evicted): noted for user space's least-recently-used
 * eviction. `slot` points into a map value (no stack: the walk runs under tools' programs with
 * large frames, and 6.1 counts the whole call chain's)
 */
static __always_inline void recipes_unwind_used(__u32 *slot)
{
	__u32 *u;

	if (!*slot)
		return;
	u = bpf_map_lookup_elem(&unwind_used, slot);
	if (u && !*u)
		*u = 1;
}

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

struct recipes_unwind_vma_ctx {
	__u64 pc;
	__u32 tgid;
	__s32 row;
};

/* the callback's records, off the stack (the walk runs under tools' programs with large frames) */
struct recipes_unwind_vma_scratch {
	struct recipes_unwind_file_key key;
	struct recipes_unwind_vma_key vkey;
	struct recipes_unwind_vma v;
	struct recipes_unwind_mapping found;
};

RECIPES_SCRATCH(unwind_vma_scratch, struct recipes_unwind_vma_scratch);

static __always_inline __u64 recipes_unwind_exec_id(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return task ? BPF_CORE_READ(task, self_exec_id) : 0;
}

/*
 * The row of `pc` in the mappings found through the kernel's VMAs for process `tgid`: its index;
 * -3 in one of them but no row; -5 in one whose table did not fit; -1 in none of them.
 */
__noinline int recipes_unwind_found_row(__u32 tgid, __u64 pc)
{
	struct recipes_unwind_found *f = bpf_map_lookup_elem(&unwind_found, &tgid);
	__u32 i, n;
	__u64 vaddr;
	int ri;

	if (!f || f->exec_id != recipes_unwind_exec_id())
		return -1;
	n = f->n;
	for (i = 0; i < RECIPES_UNWIND_FOUND; i++) {
		if (i >= n)
			break;
		if (pc < f->maps[i].start || pc >= f->maps[i].end)
			continue;
		recipes_unwind_used(&f->maps[i].file);
		if (!f->maps[i].count && f->maps[i].file)
			return -5; /* evicted since (no room) */
		vaddr = pc - f->maps[i].bias;
		if (vaddr > 0xffffffffULL)
			return -3;
		ri = recipes_unwind_find_row(f->maps[i].first, f->maps[i].count, (__u32)vaddr);
		return ri >= 0 ? ri : -3;
	}
	return -1;
}

/* a mapping found through the kernel's VMA kept in the process's unwind_found */
static __always_inline void recipes_unwind_keep_found(__u32 tgid, struct recipes_unwind_mapping *m)
{
	struct recipes_unwind_found *f = bpf_map_lookup_elem(&unwind_found, &tgid);
	__u64 exec_id = recipes_unwind_exec_id();
	__u32 zero = 0, i;

	if (!f || f->exec_id != exec_id) {
		f = bpf_map_lookup_elem(&unwind_found_new, &zero);
		if (!f)
			return;
		f->exec_id = exec_id;
		f->n = 0;
		bpf_map_update_elem(&unwind_found, &tgid, f, BPF_ANY);
		f = bpf_map_lookup_elem(&unwind_found, &tgid);
		if (!f)
			return;
	}
	i = f->n;
	if (i >= RECIPES_UNWIND_FOUND)
		return;
	f->maps[i & (RECIPES_UNWIND_FOUND - 1)] = *m;
	f->n = i + 1;
}

/* bpf_find_vma's callback: the row of ctx->pc when its VMA's file has a table, and the VMA noted */
static long recipes_unwind_vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct recipes_unwind_vma_ctx *c = data;
	struct recipes_unwind_vma_scratch *x;
	struct recipes_unwind_file *f;
	struct file *file = BPF_CORE_READ(vma, vm_file);
	__u64 start, off, vaddr;
	__u32 i, zero = 0;

	if (!file) {
		c->row = -4;
		return 0;
	}
	x = bpf_map_lookup_elem(&unwind_vma_scratch, &zero);
	if (!x)
		return 0;
	x->key.ino = BPF_CORE_READ(file, f_inode, i_ino);
	x->key.dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	x->key.pad = 0;
	f = bpf_map_lookup_elem(&unwind_files, &x->key);
	if (!f)
		return 0;
	recipes_unwind_used(&f->slot);
	if (!f->count) {
		c->row = -5; /* its table did not fit in --unwind-memory */
		return 0;
	}
	start = BPF_CORE_READ(vma, vm_start);
	x->v.pgoff = BPF_CORE_READ(vma, vm_pgoff);
	off = c->pc - start + (x->v.pgoff << RECIPES_UNWIND_PAGE_SHIFT);
	for (i = 0; i < RECIPES_UNWIND_FILE_SEGS; i++) {
		if (i >= f->n)
			break;
		if (off < f->segs[i].start || off >= f->segs[i].end)
			continue;
		vaddr = off + f->segs[i].delta;
		if (vaddr > 0xffffffffULL)
			return 0;
		c->row = recipes_unwind_find_row(f->first, f->count, (__u32)vaddr);
		x->found.start = start;
		x->found.end = BPF_CORE_READ(vma, vm_end);
		x->found.bias = c->pc - vaddr;
		x->found.first = f->first;
		x->found.count = f->count;
		x->found.file = f->slot;
		x->found.pad = 0;
		recipes_unwind_keep_found(c->tgid, &x->found);
		x->vkey.tgid = c->tgid;
		x->vkey.pad = 0;
		x->vkey.start = start;
		x->v.end = x->found.end;
		x->v.file = x->key;
		bpf_map_update_elem(&unwind_vmas, &x->vkey, &x->v, BPF_ANY);
		return 0;
	}
	return 0;
}

/*
 * The row of `pc` through the kernel's VMA of it, for an address in no mapping user space has
 * loaded: the file's rows when user space loaded its table (unwind_files); -4 when the VMA has no
 * file ([vdso], JIT code: the frame-pointer step, as for such a mapping user space loaded); -5 when
 * its file's table did not fit in --unwind-memory; -1 otherwise (no VMA, a file without a table,
 * the mm's lock taken).
 */
__noinline int recipes_unwind_vma_row(__u32 tgid, __u64 pc)
{
	struct recipes_unwind_vma_ctx c = { .pc = pc, .tgid = tgid, .row = -1 };
	struct task_struct *task = bpf_get_current_task_btf();

	if (!task || bpf_find_vma(task, pc, recipes_unwind_vma_cb, &c, 0))
		return -1;
	return c.row;
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
	if (mi < 0) {
		/* in none of the process's executable mappings (-1: mapped since user space last read
		 * them, a dlopen, new JIT code: it reads them again), or of a process it has not read
		 * yet (-2): the kernel's VMA of the address, when its file's table is loaded */
		if (mi == -1)
			bpf_map_update_elem(&unwind_wanted, &st->tgid, &st->pc, BPF_ANY);
		ri = recipes_unwind_found_row(st->tgid, lookup_pc);
		if (ri == -1)
			ri = recipes_unwind_vma_row(st->tgid, lookup_pc);
		if (ri >= 0) {
			at = ri;
			row = bpf_map_lookup_elem(&unwind_rows, &at);
		} else if (ri == -5) {
			st->no_room = true;
			goto cut;
		} else if (ri == -1 && mi == -1) {
			/* unknown still (or a walk gone wrong): the stack ends here, cut */
			goto cut;
		} else if (ri == -1) {
			st->blind = true;
		}
	} else {
		at = mi;
		asm volatile("" : "+r"(at)); /* the compiler must not drop the mask: the verifier needs it */
		at &= RECIPES_UNWIND_MAX_MAPS - 1;
		proc = bpf_map_lookup_elem(&unwind_procs, &st->tgid);
		if (proc) {
			m = &proc->maps[at];
			recipes_unwind_used(&m->file);
			if (!m->count && m->file) {
				/* the file has call-frame information, but its table did not fit in
				 * --unwind-memory (or was evicted): cut here, not walked wrong by frame pointers */
				st->no_room = true;
				goto cut;
			}
		}
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
		/* a process user space has not loaded yet: asked for; walked meanwhile through the
		 * kernel's VMAs where their files' tables are loaded, else by frame pointers (counted) */
		bpf_map_update_elem(&unwind_wanted, &st.tgid, &st.pc, BPF_ANY);
	}
	bpf_loop(RECIPES_UNWIND_MAX_DEPTH, recipes_unwind_step, &st, 0);
	if (st.blind)
		recipes_unwind_stat(RECIPES_UNWIND_STAT_UNKNOWN);
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
		if (st.no_room)
			recipes_unwind_stat(RECIPES_UNWIND_STAT_NO_ROOM);
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
