// SPDX-License-Identifier: GPL-2.0
/*
 * biosnoop: every block I/O request, who submitted it, and how long it took — from BTF
 * tracepoints only (no kprobes, no fentry).
 *   block_io_start (6.5+): accounting start, in the submitter's context: pid, comm, filters
 *   block_rq_insert:       into the I/O scheduler (queue time starts); before 6.5 also the submitter
 *   block_rq_issue:        to the driver (device time starts); before 6.5, for a request that was
 *                          never inserted (no I/O scheduler: NVMe, multi-queue virtio), also the
 *                          submitter: such a request is issued directly, in the submitter's context
 *   block_rq_complete:     done: one event (or, with --hist, one histogram slot); with -P the
 *                          disk's last completed sector, over all its requests (filtered or not)
 *                          issued since tracing began
 * Requests are keyed by their address. Filters run at submit; --min-latency at completion.
 */
#include "vmlinux.h"
#include "recipes.h"

RECIPES_EVENTS(1 << 22); /* the event stream: ring buffer and lost counter (resized by --buffer-size) */
#include "biosnoop.h"

const volatile __u32 cfg_dev = 0;             /* --disk: the disk's dev_t, 0 = all */
const volatile __u64 cfg_min_lat_ns = 0;      /* --min-latency */
const volatile bool cfg_hist = false;         /* --hist: aggregate, send no events */
const volatile bool cfg_pattern = false;      /* -P: sequential or random */
const volatile bool cfg_submit_at_issue = false; /* no block_io_start (before 6.5) */
RECIPES_METRICS_CONFIG(); /* --metrics: count in io_metrics */

struct reqinfo {
	__u64 start_ns;
	__u64 insert_ns;
	__u64 issue_ns;
	__u32 pid;
	__u32 filtered_out;
	char comm[16];
};

RECIPES_MAP(reqs, HASH, 16384, struct request *, struct reqinfo); /* requests in flight, by address */
RECIPES_MAP(hists, HASH, 4096, struct hist_key, __u64); /* --hist */
/* -P: per disk, the sector after the last completed request */
RECIPES_MAP(last_sectors, HASH, 1024, __u32, __u64);
/* --metrics: what a scrape reads (series by disk and op), next to the ring buffer's events */
RECIPES_MAP(io_metrics, PERCPU_HASH, 1024, struct io_metric_key, struct io_metric);

RECIPES_EXPORT(event);
RECIPES_EXPORT(hist_key);
RECIPES_EXPORT(io_metric_key);
RECIPES_EXPORT(io_metric);

static __always_inline __u32 disk_dev(struct request *rq)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);
	__u32 major, minor;

	if (!disk)
		return 0;
	major = BPF_CORE_READ(disk, major);
	minor = BPF_CORE_READ(disk, first_minor);
	return (major << 20) | minor;
}

static __always_inline __u32 lat_slot(__u64 lat_ns)
{
	return recipes_hist_slot(lat_ns / 1000, BIOSNOOP_HIST_SLOTS);
}

/* this CPU's totals for (disk, op), added atomically (recipes.h); user space sums the CPUs at scrape */
static __always_inline void count_metric(struct request *rq, __u64 lat, unsigned int nr_bytes)
{
	struct io_metric_key k = { .dev = disk_dev(rq), .op = BPF_CORE_READ(rq, cmd_flags) & 0xff };
	struct io_metric *m = RECIPES_LOOKUP_OR_ZERO(&io_metrics, &k, struct io_metric);

	if (!m)
		return;
	__sync_fetch_and_add(&m->count, 1);
	__sync_fetch_and_add(&m->bytes, nr_bytes);
	__sync_fetch_and_add(&m->lat_ns, lat);
	__sync_fetch_and_add(&m->slots[lat_slot(lat) & (BIOSNOOP_HIST_SLOTS - 1)], 1);
}

/* submit side: decide once whether this request is wanted, and remember who sent it */
static __always_inline struct reqinfo *track(struct request *rq, bool create)
{
	struct reqinfo *r = bpf_map_lookup_elem(&reqs, &rq);
	struct reqinfo fresh = {};
	__u64 ids;

	if (r || !create)
		return r;
	ids = recipes_current_ids(); /* the submitter, as the tool's PID namespace sees it */
	fresh.filtered_out = (cfg_dev && disk_dev(rq) != cfg_dev) || !recipes_ids_allowed(ids);
	fresh.pid = ids >> 32;
	bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
	bpf_map_update_elem(&reqs, &rq, &fresh, BPF_ANY);
	return bpf_map_lookup_elem(&reqs, &rq);
}

SEC("tp_btf/block_io_start")
int BPF_PROG(biosnoop_io_start, struct request *rq)
{
	struct reqinfo *r;

	bpf_map_delete_elem(&reqs, &rq); /* a reused request: start over */
	r = track(rq, true);
	if (r)
		r->start_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(biosnoop_rq_insert, struct request *rq)
{
	struct reqinfo *r = track(rq, true); /* before 6.5 the first event of a request */

	if (r) {
		r->insert_ns = bpf_ktime_get_ns();
		if (!r->start_ns)
			r->start_ns = r->insert_ns;
	}
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(biosnoop_rq_issue, struct request *rq)
{
	/* a request we never saw submitted (tracing started later): its submitter is unknown;
	 * before 6.5 a request issued directly is seen first here, in its submitter's context */
	struct reqinfo *r = track(rq, cfg_submit_at_issue);

	if (!r) {
		struct reqinfo fresh = { .pid = 0, .comm = "?" };

		fresh.filtered_out = (cfg_dev && disk_dev(rq) != cfg_dev) || cfg_npids || cfg_tid || cfg_filter_uid || cfg_comm_len || cfg_cgroup_id ||
				     cfg_pidns_ino; /* inside a container: only its own tasks' I/O */
		bpf_map_update_elem(&reqs, &rq, &fresh, BPF_ANY);
		r = bpf_map_lookup_elem(&reqs, &rq);
		if (!r)
			return 0;
	}
	r->issue_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(biosnoop_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	struct reqinfo *r = bpf_map_lookup_elem(&reqs, &rq);
	__u64 now = bpf_ktime_get_ns(), lat;
	struct event *e;
	__u32 opf, pattern = BIO_PAT_UNKNOWN;

	/* a request issued before tracing began is not followed: it has no event, and -P leaves it
	 * out too (its completion would make the next request's pattern depend on what was never shown) */
	if (!r)
		return 0;
	if (cfg_pattern) {
		__u32 dev = disk_dev(rq);
		__u64 sector = BPF_CORE_READ(rq, __sector), end = sector + nr_bytes / 512;
		__u64 *last = bpf_map_lookup_elem(&last_sectors, &dev);

		if (last)
			pattern = *last == sector ? BIO_PAT_SEQUENTIAL : BIO_PAT_RANDOM;
		bpf_map_update_elem(&last_sectors, &dev, &end, BPF_ANY);
	}
	if (r->filtered_out || !r->issue_ns)
		goto out;
	lat = now - r->issue_ns;
	if (lat < cfg_min_lat_ns)
		goto out;
	if (cfg_metrics)
		count_metric(rq, lat, nr_bytes);
	if (!cfg_events)
		goto out;
	if (cfg_hist) {
		struct hist_key k = { .dev = disk_dev(rq), .slot = lat_slot(lat) };

		recipes_count_key(&hists, &k);
		goto out;
	}
	e = RESERVE_EVENT(struct event);
	if (!e)
		goto out;
	opf = BPF_CORE_READ(rq, cmd_flags);
	e->ts_ns = now;
	e->start_ns = r->start_ns;
	e->insert_ns = r->insert_ns;
	e->issue_ns = r->issue_ns;
	e->sector = BPF_CORE_READ(rq, __sector);
	e->len = nr_bytes;
	e->dev = disk_dev(rq);
	e->pid = r->pid;
	e->op = opf & 0xff; /* REQ_OP_MASK */
	e->flags = 0;
	if (opf & (1U << bpf_core_enum_value(enum req_flag_bits, __REQ_SYNC)))
		e->flags |= BIO_F_SYNC;
	if (opf & (1U << bpf_core_enum_value(enum req_flag_bits, __REQ_META)))
		e->flags |= BIO_F_META;
	if (opf & (1U << bpf_core_enum_value(enum req_flag_bits, __REQ_FUA)))
		e->flags |= BIO_F_FUA;
	if (opf & (1U << bpf_core_enum_value(enum req_flag_bits, __REQ_PREFLUSH)))
		e->flags |= BIO_F_PREFLUSH;
	if (opf & (1U << bpf_core_enum_value(enum req_flag_bits, __REQ_RAHEAD)))
		e->flags |= BIO_F_RAHEAD;
	e->error = error;
	e->pattern = pattern;
	__builtin_memcpy(e->comm, r->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
out:
	/* a partial completion leaves the rest of the request pending: keep it until the end */
	if (BPF_CORE_READ(rq, __data_len) <= nr_bytes)
		bpf_map_delete_elem(&reqs, &rq);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
