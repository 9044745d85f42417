/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --metrics-by comm|cgroup (libs/metrics/README.md): a per-CPU counter map of a tool is keyed, besides
 * its own labels, by 16 bytes that hold the task's comm or its cgroup v2 id, only when user space
 * sets cfg_metrics_by; user space ranks the values at scrape time, keeps the top N and folds the
 * rest into "other". Without it the 16 bytes stay zero: one key per label set, as before.
 */
#ifndef __RECIPES_METRICS_BY_H
#define __RECIPES_METRICS_BY_H

#define RECIPES_BY_NONE 0
#define RECIPES_BY_COMM 1
#define RECIPES_BY_CGROUP 2
#define RECIPES_BY_LEN 16

const volatile __u32 cfg_metrics_by = RECIPES_BY_NONE;

/* by: RECIPES_BY_LEN zeroed bytes of a map key; the comm, or the cgroup id in the first 8 */
static __always_inline void recipes_metrics_by(char *by)
{
	if (cfg_metrics_by == RECIPES_BY_COMM) {
		bpf_get_current_comm(by, RECIPES_BY_LEN);
	} else if (cfg_metrics_by == RECIPES_BY_CGROUP) {
		__u64 id = bpf_get_current_cgroup_id();

		__builtin_memcpy(by, &id, sizeof(id));
	}
}

#endif /* __RECIPES_METRICS_BY_H */
